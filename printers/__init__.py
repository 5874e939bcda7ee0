"""Receipt printing: pure ESC/POS building, printer connections, status and durable print jobs."""
