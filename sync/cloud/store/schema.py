"""Versioned schema migrations, one list of statements per version, per dialect.

Times are integer microseconds since the epoch (``*_us``): the same type and order on both
databases. Money is text (``Decimal`` as written). Append new versions; never edit old ones.
"""

_V1 = [
    """CREATE TABLE businesses (
        id {pk}, name TEXT NOT NULL, admin_key_hash TEXT NOT NULL, created_us BIGINT NOT NULL)""",
    """CREATE TABLE branches (
        id {pk}, business_id BIGINT NOT NULL REFERENCES businesses(id), name TEXT NOT NULL,
        timezone TEXT NOT NULL, program TEXT NOT NULL, program_version BIGINT NOT NULL,
        created_us BIGINT NOT NULL)""",
    """CREATE TABLE devices (
        id {pk}, business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL REFERENCES branches(id),
        label TEXT NOT NULL, key_hash TEXT NOT NULL, secret TEXT NOT NULL,
        created_us BIGINT NOT NULL)""",
    "CREATE TABLE counters (business_id BIGINT PRIMARY KEY, card_seq BIGINT NOT NULL)",
    """CREATE TABLE customers (
        id {pk}, business_id BIGINT NOT NULL, card_code TEXT NOT NULL UNIQUE,
        number TEXT NOT NULL, email TEXT, name TEXT, balance BIGINT NOT NULL,
        updated_seq BIGINT NOT NULL, created_us BIGINT NOT NULL, UNIQUE (business_id, number))""",
    "CREATE UNIQUE INDEX customers_email ON customers (business_id, email)",
    "CREATE INDEX customers_seq ON customers (business_id, updated_seq)",
    """CREATE TABLE events (
        id TEXT PRIMARY KEY, business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL,
        device_id BIGINT, type TEXT NOT NULL, hash TEXT NOT NULL, payload TEXT NOT NULL,
        device_time TEXT NOT NULL, received_us BIGINT NOT NULL, pos INTEGER NOT NULL)""",
    "CREATE INDEX events_received ON events (business_id, received_us, pos)",
    """CREATE TABLE orders (
        business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL, order_id TEXT NOT NULL,
        device_id BIGINT, kind TEXT NOT NULL, total TEXT NOT NULL, stamps BIGINT NOT NULL,
        credited BIGINT NOT NULL, customer_id BIGINT, order_ref TEXT,
        voided INTEGER NOT NULL, event_id TEXT NOT NULL, at_us BIGINT NOT NULL,
        voided_us BIGINT, PRIMARY KEY (branch_id, order_id))""",
    "CREATE INDEX orders_business ON orders (business_id, order_id)",
    "CREATE INDEX orders_at ON orders (branch_id, at_us)",
    """CREATE TABLE receipt_qrs (
        device_id BIGINT NOT NULL, order_ref TEXT NOT NULL, business_id BIGINT NOT NULL,
        branch_id BIGINT NOT NULL, order_id TEXT, stamps BIGINT NOT NULL,
        expires_us BIGINT NOT NULL, state TEXT NOT NULL, customer_id BIGINT,
        issued_us BIGINT, claimed_us BIGINT, PRIMARY KEY (device_id, order_ref))""",
    "CREATE INDEX receipt_qrs_branch ON receipt_qrs (branch_id, issued_us)",
    """CREATE TABLE entries (
        id {pk}, business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL, device_id BIGINT,
        customer_id BIGINT NOT NULL, delta BIGINT NOT NULL, kind TEXT NOT NULL, order_id TEXT,
        event_id TEXT, at_us BIGINT NOT NULL)""",
    "CREATE INDEX entries_customer ON entries (customer_id)",
    "CREATE INDEX entries_branch ON entries (branch_id, at_us)",
    """CREATE TABLE rewards (
        code TEXT PRIMARY KEY, business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL,
        device_id BIGINT, customer_id BIGINT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
        source TEXT NOT NULL, state TEXT NOT NULL, issued_us BIGINT NOT NULL,
        valid_from_us BIGINT NOT NULL, expires_us BIGINT, redeemed_us BIGINT,
        redeemed_by BIGINT, event_id TEXT)""",
    "CREATE INDEX rewards_customer ON rewards (customer_id)",
    "CREATE INDEX rewards_branch ON rewards (branch_id, issued_us)",
]

# v2: a per-business key that signs cards' private page links (``Store.card_link_key``)
_V2 = ["ALTER TABLE businesses ADD COLUMN link_key TEXT"]

# v3: claims and batches find a branch's receipt QRs by order reference
_V3 = ["CREATE INDEX receipt_qrs_ref ON receipt_qrs (branch_id, order_ref)"]

# v4: a device key can be revoked (a lost till, a member of staff who left)
_V4 = ["ALTER TABLE devices ADD COLUMN revoked_us BIGINT"]

# v5: a batch writes fewer b-tree pages (issue #3: ingest speed). Figures per day come from
# ``tallies``, one row per branch, second and device, kept up to date by each write, instead of
# time indexes on orders, QRs, entries and the ledger; indexes nothing reads are dropped; an
# order is found by its branch (another branch's order is looked for only when the branch has
# none of that id). On SQLite, orders and receipt QRs become WITHOUT ROWID tables keyed by what
# they are looked up by, so each row lives in one b-tree instead of three or four.
_TALLIES = """CREATE TABLE tallies (
    branch_id BIGINT NOT NULL, second_us BIGINT NOT NULL, device_id BIGINT NOT NULL,
    orders BIGINT NOT NULL, voids BIGINT NOT NULL, stamps BIGINT NOT NULL,
    qr_issued BIGINT NOT NULL, qr_claimed BIGINT NOT NULL, rewards_issued BIGINT NOT NULL,
    rewards_redeemed BIGINT NOT NULL,
    PRIMARY KEY (branch_id, second_us, device_id)){without_rowid}"""
# The figures so far, by the second they happened in (device 0: none, as the API channel).
_TALLIES_FROM_ROWS = """INSERT INTO tallies
    SELECT branch_id, t / 1000000 * 1000000, device, SUM(o), SUM(v), SUM(s), SUM(qi), SUM(qc),
           SUM(ri), SUM(rr)
    FROM (SELECT branch_id, at_us AS t, COALESCE(device_id, 0) AS device, 1 AS o, 0 AS v,
                 0 AS s, 0 AS qi, 0 AS qc, 0 AS ri, 0 AS rr FROM orders
          UNION ALL SELECT branch_id, voided_us, COALESCE(device_id, 0), 0, 1, 0, 0, 0, 0, 0
                 FROM orders WHERE voided_us IS NOT NULL
          UNION ALL SELECT branch_id, at_us, COALESCE(device_id, 0), 0, 0, delta, 0, 0, 0, 0
                 FROM entries WHERE delta > 0
          UNION ALL SELECT branch_id, issued_us, device_id, 0, 0, 0, 1, 0, 0, 0
                 FROM receipt_qrs WHERE issued_us IS NOT NULL
          UNION ALL SELECT branch_id, claimed_us, device_id, 0, 0, 0, 0, 1, 0, 0
                 FROM receipt_qrs WHERE claimed_us IS NOT NULL
          UNION ALL SELECT branch_id, issued_us, COALESCE(device_id, 0), 0, 0, 0, 0, 0, 1, 0
                 FROM rewards
          UNION ALL SELECT branch_id, redeemed_us, COALESCE(redeemed_by, 0), 0, 0, 0, 0, 0, 0, 1
                 FROM rewards WHERE redeemed_us IS NOT NULL) AS facts
    GROUP BY branch_id, t / 1000000 * 1000000, device"""
_V5_DROPS = [
    "DROP INDEX events_received",  # nothing reads the ledger by receive time through an index
    "DROP INDEX entries_customer",  # balances are kept on the card; nothing sums a card's entries
    "DROP INDEX entries_branch",  # figures: tallies
    "DROP INDEX orders_at",  # figures: tallies
    "DROP INDEX receipt_qrs_branch",  # figures: tallies
]
_ORDERS_V5 = """CREATE TABLE orders_v5 (
    business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL, order_id TEXT NOT NULL,
    device_id BIGINT, kind TEXT NOT NULL, total TEXT NOT NULL, stamps BIGINT NOT NULL,
    credited BIGINT NOT NULL, customer_id BIGINT, order_ref TEXT,
    voided INTEGER NOT NULL, event_id TEXT NOT NULL, at_us BIGINT NOT NULL,
    voided_us BIGINT, PRIMARY KEY (branch_id, order_id)) WITHOUT ROWID"""
_ORDER_COLS = (
    "business_id, branch_id, order_id, device_id, kind, total, stamps, credited, customer_id, "
    "order_ref, voided, event_id, at_us, voided_us"
)
# (branch_id, order_ref, device_id) is unique exactly when (device_id, order_ref) is: a device
# belongs to one branch, and a QR row takes its device's branch.
_QRS_V5 = """CREATE TABLE receipt_qrs_v5 (
    device_id BIGINT NOT NULL, order_ref TEXT NOT NULL, business_id BIGINT NOT NULL,
    branch_id BIGINT NOT NULL, order_id TEXT, stamps BIGINT NOT NULL,
    expires_us BIGINT NOT NULL, state TEXT NOT NULL, customer_id BIGINT,
    issued_us BIGINT, claimed_us BIGINT,
    PRIMARY KEY (branch_id, order_ref, device_id)) WITHOUT ROWID"""
_QR_COLS = (
    "device_id, order_ref, business_id, branch_id, order_id, stamps, expires_us, state, "
    "customer_id, issued_us, claimed_us"
)
_V5 = {
    "sqlite": [
        _TALLIES.replace("{without_rowid}", " WITHOUT ROWID"),
        _TALLIES_FROM_ROWS,
        *_V5_DROPS,
        _ORDERS_V5,
        f"INSERT INTO orders_v5 ({_ORDER_COLS}) SELECT {_ORDER_COLS} FROM orders",  # noqa: S608
        "DROP TABLE orders",
        "ALTER TABLE orders_v5 RENAME TO orders",
        _QRS_V5,
        f"INSERT INTO receipt_qrs_v5 ({_QR_COLS}) SELECT {_QR_COLS} FROM receipt_qrs",  # noqa: S608
        "DROP TABLE receipt_qrs",
        "ALTER TABLE receipt_qrs_v5 RENAME TO receipt_qrs",
    ],
    "postgresql": [
        _TALLIES.replace("{without_rowid}", ""),
        _TALLIES_FROM_ROWS,
        *_V5_DROPS,
        "DROP INDEX orders_business",  # orders are found by branch (the primary key)
    ],
}

# v6: wallet passes (``sync/cloud/wallet``). One row per card that was given a pass (its serial,
# the nonce its authentication token is derived from and that token's hash, what it last said
# and when); the devices registered for it (Apple's web service); the durable push queue, one
# row per pass (coalesced: a burst of changes is one push); and, per business, the card sequence
# number up to which changes were queued.
_V6 = [
    """CREATE TABLE wallet_passes (
        serial TEXT PRIMARY KEY, business_id BIGINT NOT NULL, customer_id BIGINT NOT NULL,
        nonce TEXT NOT NULL, token_hash TEXT NOT NULL, content_hash TEXT NOT NULL,
        updated_us BIGINT NOT NULL, google INTEGER NOT NULL, created_us BIGINT NOT NULL)""",
    "CREATE INDEX wallet_passes_business ON wallet_passes (business_id, customer_id)",
    """CREATE TABLE wallet_registrations (
        device_id TEXT NOT NULL, pass_type_id TEXT NOT NULL, serial TEXT NOT NULL,
        push_token TEXT NOT NULL, created_us BIGINT NOT NULL,
        PRIMARY KEY (device_id, pass_type_id, serial))""",
    "CREATE INDEX wallet_registrations_serial ON wallet_registrations (serial)",
    """CREATE TABLE wallet_pushes (
        serial TEXT PRIMARY KEY, business_id BIGINT NOT NULL, due_us BIGINT NOT NULL,
        attempts INTEGER NOT NULL, version BIGINT NOT NULL)""",
    "CREATE INDEX wallet_pushes_due ON wallet_pushes (due_us)",
    "CREATE TABLE wallet_cursors (business_id BIGINT PRIMARY KEY, card_seq BIGINT NOT NULL)",
]

# v7: rewards at the till (issue #15). A reward keeps the POS line it is rung up as and the
# check it was redeemed on; a reward redeemed a second time (two tills, both offline) is kept
# as a double redemption beside it, never counted as a second redemption.
# A void of a check that issued or redeemed a reward is counted (``voided_reward_checks``):
# the rewards know their check, and voided checks are found by the time of their void.
_V7 = [
    "ALTER TABLE rewards ADD COLUMN pos_product TEXT",
    "ALTER TABLE rewards ADD COLUMN redeemed_order TEXT",
    "ALTER TABLE rewards ADD COLUMN order_id TEXT",
    "CREATE INDEX rewards_order ON rewards (branch_id, order_id)",
    "CREATE INDEX rewards_redeemed_order ON rewards (business_id, redeemed_order)",
    "CREATE INDEX rewards_event ON rewards (event_id)",  # a re-sent event's effects, told again
    "CREATE INDEX orders_voided ON orders (branch_id, voided_us) WHERE voided_us IS NOT NULL",
    """CREATE TABLE redeem_conflicts (
        id {pk}, business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL, device_id BIGINT,
        code TEXT NOT NULL, event_id TEXT NOT NULL, order_id TEXT, at_us BIGINT NOT NULL)""",
    "CREATE INDEX redeem_conflicts_branch ON redeem_conflicts (branch_id, at_us)",
]

# v8: the back office (issue #20). A batch of single-use codes made by the owner (delivery
# inserts worth stamps, or vouchers), its codes, and each business's plan (no row: self-hosted,
# unlimited).
_V8 = [
    """CREATE TABLE voucher_batches (
        id {pk}, business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL, kind TEXT NOT NULL,
        stamps BIGINT NOT NULL, title TEXT NOT NULL, count BIGINT NOT NULL,
        valid_days BIGINT NOT NULL, expires_us BIGINT NOT NULL, created_us BIGINT NOT NULL,
        printed BIGINT NOT NULL)""",
    "CREATE INDEX voucher_batches_business ON voucher_batches (business_id, created_us)",
    """CREATE TABLE voucher_codes (
        code TEXT PRIMARY KEY, business_id BIGINT NOT NULL, batch_id BIGINT NOT NULL,
        state TEXT NOT NULL, customer_id BIGINT, reward_code TEXT, claimed_us BIGINT)""",
    "CREATE INDEX voucher_codes_batch ON voucher_codes (batch_id)",
    """CREATE TABLE plans (
        business_id BIGINT PRIMARY KEY, name TEXT NOT NULL, ops_limit BIGINT,
        seats_limit BIGINT)""",
]

# v9: Poster's account webhooks (issue #22, ``sync/cloud/poster_webhook.py``). Per business:
# whether they are taken, the application secret Poster signs them with (kept as given: the md5
# check needs it), Poster's web API address and token (to read a closed check), the branch its
# checks credit and, per Poster spot, another branch (JSON ``{"<spot_id>": branch_id}``); the
# Poster account the link is for (one marketplace app's secret signs every account's webhooks).
# Each webhook taken is kept once, keyed by its signature, with what it did.
_V9 = [
    """CREATE TABLE poster_links (
        business_id BIGINT PRIMARY KEY, enabled INTEGER NOT NULL, account TEXT NOT NULL,
        secret TEXT NOT NULL, api_url TEXT NOT NULL, api_token TEXT, branch_id BIGINT,
        spots TEXT, updated_us BIGINT NOT NULL)""",
    """CREATE TABLE poster_webhooks (
        business_id BIGINT NOT NULL, verify TEXT NOT NULL, object TEXT NOT NULL,
        object_id TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, order_id TEXT,
        received_us BIGINT NOT NULL, PRIMARY KEY (business_id, verify))""",
]

# v10: customers who own their card (issue #19, part A; ``identity.py``, ``mail_outbox.py``).
# The durable mail outbox (one row a message: attempts, next try, sent); one-time sign-in links
# (only the SHA-256 of a link's token is kept; used once, expiring); marketing consent as an
# append-only history (channel, granted or withdrawn, wording version, time); a card merged
# into another keeps its row as an alias (``merged_into``): its code, number and signed link
# lead to the card it was merged into.
_V10 = [
    """CREATE TABLE mail_outbox (
        id {pk}, business_id BIGINT NOT NULL, customer_id BIGINT, kind TEXT NOT NULL,
        to_addr TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, headers TEXT NOT NULL,
        attempts INTEGER NOT NULL, next_us BIGINT NOT NULL, sent_us BIGINT, last_error TEXT,
        created_us BIGINT NOT NULL)""",
    "CREATE INDEX mail_outbox_due ON mail_outbox (next_us) WHERE sent_us IS NULL",
    """CREATE TABLE sign_in_links (
        token_hash TEXT PRIMARY KEY, business_id BIGINT NOT NULL, email TEXT NOT NULL,
        purpose TEXT NOT NULL, card_code TEXT, claim_token TEXT, created_us BIGINT NOT NULL,
        expires_us BIGINT NOT NULL, used_us BIGINT)""",
    "CREATE INDEX sign_in_links_email ON sign_in_links (business_id, email, created_us)",
    """CREATE TABLE consents (
        id {pk}, business_id BIGINT NOT NULL, customer_id BIGINT NOT NULL,
        channel TEXT NOT NULL, granted INTEGER NOT NULL, wording TEXT NOT NULL,
        source TEXT NOT NULL, at_us BIGINT NOT NULL)""",
    "CREATE INDEX consents_customer ON consents (customer_id, channel, id)",
    "ALTER TABLE customers ADD COLUMN merged_into BIGINT",
    "CREATE INDEX customers_merged ON customers (merged_into) WHERE merged_into IS NOT NULL",
]

# v11: customers' privacy (issue #19, ``sync/cloud/store/privacy.py``). A customer may give a
# phone number (E.164, parsed with the business's country as the default region); a business
# names its country. An erased customer keeps a row without any personal data (its figures,
# ledger entries and rewards still count) marked by ``erased_us``, and ``erasures`` keeps one
# audit row per erased customer: who asked and when, nothing personal.
_V11 = [
    "ALTER TABLE customers ADD COLUMN phone TEXT",
    "ALTER TABLE customers ADD COLUMN erased_us BIGINT",
    "CREATE UNIQUE INDEX customers_phone ON customers (business_id, phone)",
    "ALTER TABLE businesses ADD COLUMN country TEXT",
    """CREATE TABLE erasures (
        customer_id BIGINT PRIMARY KEY, business_id BIGINT NOT NULL, requested_by TEXT NOT NULL,
        events_scrubbed BIGINT NOT NULL, at_us BIGINT NOT NULL)""",
]

# v12: two tills with the same check number (issue #14). A POS's check ids are unique per till
# only: an order id is unique per branch and ``scope`` (``book.order_scope``: "<device>/<till>"
# for a device's checks, "" for the API channel's and Poster's). An existing row gets the scope
# its device and the till its event named, so a later void or attach from its till finds it.
_SCOPE_OF_ROW = (
    "CASE WHEN o.device_id IS NULL THEN '' ELSE CAST(o.device_id AS TEXT) || '/' || "
    "COALESCE((SELECT {till} FROM events e WHERE e.id = o.event_id), '') END"
)
# ``scope`` sits before the first column that may be NULL: SQLite 3.40's integrity_check reports
# false "NULL value in orders.kind" on a WITHOUT ROWID table whose key has a column after one.
_ORDERS_V12 = """CREATE TABLE orders_v12 (
    business_id BIGINT NOT NULL, branch_id BIGINT NOT NULL, order_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    device_id BIGINT, kind TEXT NOT NULL, total TEXT NOT NULL, stamps BIGINT NOT NULL,
    credited BIGINT NOT NULL, customer_id BIGINT, order_ref TEXT,
    voided INTEGER NOT NULL, event_id TEXT NOT NULL, at_us BIGINT NOT NULL,
    voided_us BIGINT, PRIMARY KEY (branch_id, order_id, scope)) WITHOUT ROWID"""
_SCOPE_SQLITE = _SCOPE_OF_ROW.replace("{till}", "json_extract(e.payload, '$.till')")
_SCOPE_PG = _SCOPE_OF_ROW.replace("{till}", "e.payload::jsonb ->> 'till'")
_V12 = {
    "sqlite": [
        _ORDERS_V12,
        f"INSERT INTO orders_v12 ({_ORDER_COLS}, scope) "  # noqa: S608
        f"SELECT {_ORDER_COLS}, {_SCOPE_SQLITE} FROM orders o",
        "DROP TABLE orders",
        "ALTER TABLE orders_v12 RENAME TO orders",
        "CREATE INDEX orders_voided ON orders (branch_id, voided_us) WHERE voided_us IS NOT NULL",
    ],
    "postgresql": [
        "ALTER TABLE orders ADD COLUMN scope TEXT NOT NULL DEFAULT ''",
        f"UPDATE orders o SET scope = {_SCOPE_PG} WHERE o.device_id IS NOT NULL",  # noqa: S608
        "ALTER TABLE orders DROP CONSTRAINT orders_pkey, "
        "ADD PRIMARY KEY (branch_id, order_id, scope)",
        "ALTER TABLE orders ALTER COLUMN scope DROP DEFAULT",
    ],
}

# v13: dashboard sign-out ends the session on the server (issue #14, ``store/sessions.py``).
# ``ended_sessions`` holds the nonce of each session signed out until the session would have
# expired anyway (then housekeeping deletes it); ``sessions_after_us``: "sign out everywhere"
# ends every session of the business issued at or before that time.
_V13 = [
    "ALTER TABLE businesses ADD COLUMN sessions_after_us BIGINT NOT NULL DEFAULT 0",
    """CREATE TABLE ended_sessions (
        nonce TEXT PRIMARY KEY, business_id BIGINT NOT NULL, expires_us BIGINT NOT NULL)""",
    "CREATE INDEX ended_sessions_expiry ON ended_sessions (business_id, expires_us)",
]

_PK = {
    "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
}


def migrations(dialect: str) -> list[list[str]]:
    """Every version's statements for ``dialect`` (``sqlite`` or ``postgresql``)."""
    pk = _PK[dialect]
    return [
        [s.replace("{pk}", pk) for s in _V1],
        list(_V2),
        list(_V3),
        list(_V4),
        list(_V5[dialect]),
        list(_V6),
        [s.replace("{pk}", pk) for s in _V7],
        [s.replace("{pk}", pk) for s in _V8],
        list(_V9),
        [s.replace("{pk}", pk) for s in _V10],
        list(_V11),
        list(_V12[dialect]),
        list(_V13),
    ]
