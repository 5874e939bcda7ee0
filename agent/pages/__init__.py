"""The pages phones and tablets use: the pairing form, the self-service kiosk, the staff scanner."""
