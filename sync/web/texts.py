"""Every sentence of the cloud's pages and of the agent's kiosk, staff and pairing pages, in one
place, ready for translation.

Pages call ``t(key, lang, **values)``; a language that lacks a key falls back to English.
"""

from string import Formatter

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "brand": "Stamp card",
        "claim.title": "Your stamps",
        "claim.added.one": "1 stamp added to your card",
        "claim.added.many": "{n} stamps added to your card",
        "claim.progress": "{balance} of {goal} stamps",
        "claim.to_go.one": "1 more stamp to your reward",
        "claim.to_go.many": "{n} more stamps to your reward",
        "claim.keep": "This card is saved on this phone. Your next receipt lands on the same card.",
        "claim.open_card": "Show my card",
        "wallet.apple": "Add to Apple Wallet",
        "wallet.google": "Save to Google Wallet",
        "wallet.hint": "Keep the card in your phone's wallet: show it at the till, and the "
        "stamps update by themselves.",
        "claim.button": "Collect my stamps",
        "claim.offer.title": "Collect your stamps",
        "claim.offer.one": "1 stamp for your card",
        "claim.offer.many": "{n} stamps for your card",
        "claim.complete.title": "Card complete: {goal} of {goal} stamps",
        "claim.complete.many": "This receipt filled {n} cards.",
        "claim.new_card": "Your new card",
        "claim.carried.one": "1 stamp carried over to your new card",
        "claim.carried.many": "{n} stamps carried over to your new card",
        "reward.reached": "You reached your reward!",
        "reward.gift": "Your gift: {name}. Show this screen at the counter.",
        "reward.gift.code": "The cashier scans this code or types it in at the till.",
        "reward.voucher": "Your voucher: {name}",
        "reward.voucher.code": "Redeem code",
        "reward.voucher.valid": "Valid until {date}",
        "reward.lottery.won": "Lucky draw: you won {name}!",
        "reward.lottery.try": "Lucky draw: you get another try on your next reward.",
        "reward.lottery.none": "Lucky draw: no prize this time. Your next card starts now.",
        "error.already_claimed.title": "Already claimed",
        "error.already_claimed.body": "The stamps of this receipt are already on a card. "
        "Each receipt can be used once.",
        "error.expired.title": "This receipt has expired",
        "error.expired.body": "Receipt codes can be used for a limited time after the purchase. "
        "Ask at the counter next time and we will stamp your card directly.",
        "error.invalid.title": "We cannot read this receipt",
        "error.invalid.body": "This code is not a valid receipt of ours. If you typed it, "
        "check it; otherwise ask at the counter.",
        "error.voided.title": "This purchase was cancelled",
        "error.voided.body": "The purchase on this receipt was refunded or cancelled, "
        "so it carries no stamps.",
        "error.not_found.title": "Card not found",
        "error.not_found.body": "This card link does not exist. Scan a receipt to start a card.",
        "card.title": "Your card",
        "card.show": "Show this code at the till",
        "card.number": "Card number",
        "rewards.more.one": "1 more reward is on your card.",
        "rewards.more.many": "{n} more rewards are on your card.",
        "card.balance": "{balance} of {goal} stamps",
        "card.vouchers": "Your vouchers",
        "card.no_vouchers": "No vouchers yet.",
        "card.col.reward": "Reward",
        "card.col.code": "Code",
        "card.col.state": "State",
        "voucher.issued": "not active yet",
        "voucher.active": "ready to use",
        "voucher.redeemed": "used",
        "voucher.expired": "expired",
        "stamp.filled": "stamp",
        "stamp.empty": "empty slot",
        # Customers who own their card (issue #19): mail, sign-in links, consent.
        "mail.signin.subject": "Your stamp card at {business}",
        "mail.signin.body": "Hello,\n\nsomeone (we hope you) asked to {action} at {business}."
        "\n\nOpen this link on your phone to do it:\n{link}\n\nThe link works once, for {minutes} "
        "minutes. If it was not you, ignore this message: nothing changes without the link.",
        "mail.signin.action.attach": "keep a stamp card under this email address",
        "mail.signin.action.claim": "add the stamps of a receipt to the card of this address",
        "mail.footer": "\n\n--\nYou get this message because this address was given for a stamp "
        "card. Offers by email: only if you said yes on your card page. To say no to them: {url}",
        "email.title": "Your email",
        "email.hint": "Give your email to open this card on any phone, or to get back a card "
        "you already have. We send you a link; nothing changes until you open it.",
        "email.label": "Email address",
        "email.button": "Send me the link",
        "email.have_card": "I have a card already",
        "email.sent.title": "Check your inbox",
        "email.sent.body": "If the address can receive mail, a link is on its way. Open it "
        "within {minutes} minutes on the phone that should keep the card.",
        "email.bad": "That does not look like an email address.",
        "email.verified": "Email confirmed: {email}",
        "signin.title": "Open your stamp card",
        "signin.body": "Press the button to finish on this phone.",
        "signin.button": "Continue",
        "signin.used.title": "This link was used already",
        "signin.used.body": "Each link works once. Ask for a new one on the card page.",
        "signin.expired.title": "This link has expired",
        "signin.expired.body": "Links work for a short time. Ask for a new one on the card page.",
        "signin.invalid.title": "We do not know this link",
        "signin.invalid.body": "Check that the whole link was opened, or ask for a new one.",
        "consent.title": "Offers",
        "consent.email": "Send me offers by email",
        "consent.wallet": "Send me offers as Wallet notifications",
        "consent.hint": "You can change your mind here at any time, and every message has a "
        "link to say no.",
        "consent.save": "Save my choice",
        "consent.saved": "Your choice is saved.",
        "consent.needs_email": "Confirm your email first to get offers by email.",
        "unsubscribe.title": "No more offers",
        "unsubscribe.body": "Press the button and we send no more offers to {channel}.",
        "unsubscribe.button": "No more offers",
        "unsubscribe.done": "Done: no more offers. Your card and its stamps stay as they are.",
        "unsubscribe.channel.email": "this email address",
        "unsubscribe.channel.wallet": "this card's Wallet pass",
        # The agent's pages for phones and tablets (agent/pages/).
        "pair.title": "Pair this device",
        "pair.hint": "Enter the pairing code shown on the agent's status page.",
        "pair.code": "Pairing code",
        "pair.name": "Name of this device (optional)",
        "pair.button": "Pair",
        "pair.revoked": "This device was unpaired. Ask for a new pairing code.",
        "pair.wrong_role": "This device is paired for another page. Pair it again for this one.",
        "kiosk.title": "Collect a stamp",
        "kiosk.hint": "Hold your card's code up to the camera",
        "kiosk.or_type": "or type your six-digit card number",
        "kiosk.number": "Card number",
        "kiosk.submit": "Stamp my card",
        "kiosk.camera": "Camera view",
        "kiosk.busy": "One moment…",
        "kiosk.added.one": "1 stamp added",
        "kiosk.added.many": "{n} stamps added",
        "kiosk.progress": "{balance} of {goal} stamps",
        "kiosk.reward": "You reached your reward! Show this screen at the counter.",
        "kiosk.cooldown.title": "Already stamped",
        "kiosk.cooldown": "This card got its stamp on this visit. Next stamp in {time}.",
        "kiosk.unknown.title": "Card not found",
        "kiosk.unknown": "We do not know this card. Please ask at the counter.",
        "kiosk.offline": "Saved. The stamp reaches your card as soon as we are back online.",
        "kiosk.receipt.title": "This is a receipt",
        "kiosk.receipt": "Open the receipt's code with your phone's camera to collect its stamps.",
        "kiosk.invalid.title": "Not a card",
        "kiosk.invalid": "This code is not one of our cards. Show your stamp card's code.",
        "kiosk.error.title": "Not saved",
        "kiosk.error": "Something went wrong. Please ask at the counter.",
        "kiosk.no_camera": "The camera is not available. Type your card number instead.",
        "staff.title": "Staff scanner",
        "staff.scan": "Scan a card",
        "staff.search.title": "Find a customer",
        "staff.search": "Card number, email or name",
        "staff.find": "Find",
        "staff.camera": "Camera",
        "staff.torch": "Light",
        "staff.found.none": "No customer found.",
        "staff.card": "Card",
        "staff.balance": "{balance} of {goal} stamps",
        "staff.till": "Till",
        "staff.attach": "Add to the till's next check",
        "staff.attached": "Added: the card goes to the next check of {till}.",
        "staff.stamp": "Stamp a visit",
        "staff.redeem": "Redeem a reward",
        "staff.redeem.code": "Reward code",
        "staff.redeem.missing": "Rewards are redeemed at the till on this agent version.",
        "staff.choose": "Choose",
        "staff.offline": "From this agent's offline cache",
    }
}


def t(key: str, lang: str = "en", **values: object) -> str:
    """The sentence for ``key`` with ``values`` filled in."""
    table = TEXTS.get(lang, TEXTS["en"])
    text = table.get(key) or TEXTS["en"][key]
    return text.format(**values) if values else text


def plural(base: str, n: int, lang: str = "en", **values: object) -> str:
    """``base.one`` for 1, ``base.many`` otherwise."""
    return t(f"{base}.{'one' if n == 1 else 'many'}", lang, n=n, **values)


def placeholders(key: str) -> set[str]:
    """The ``{names}`` a sentence needs (for translators' checks)."""
    return {f for _, f, _, _ in Formatter().parse(TEXTS["en"][key]) if f}
