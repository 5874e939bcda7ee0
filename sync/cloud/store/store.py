"""``Store``: the cloud store's operations, written once over the ``Db`` contract;
one module a concern (``store_base.py``, ``store_tenancy.py``, ``store_ledger.py``,
``store_claims.py``, ``store_customers.py``, ``store_figures.py``, ``store_backoffice.py``).

Every operation that reads, checks and writes runs inside ``Db.write(business_id)``, so a batch,
a claim or a redeem sees no interleaved write of the same business (see ``db.py``).
"""

from sync.cloud.errors import StoreError
from sync.cloud.store.store_backoffice import BackOfficeOps
from sync.cloud.store.store_claims import ClaimOps
from sync.cloud.store.store_customers import CustomerOps
from sync.cloud.store.store_figures import FigureOps
from sync.cloud.store.store_ledger import LedgerOps
from sync.cloud.store.tenancy import Principal


class Store(ClaimOps, LedgerOps, CustomerOps, FigureOps, BackOfficeOps):
    """The cloud store over one database (``sqlite.py`` or ``postgres.py``)."""


__all__ = ["Principal", "Store", "StoreError"]
