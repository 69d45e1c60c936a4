"""One importer per kind of file; the pipeline picks it by the job's kind."""

from ..choices import ImportKind
from .contacts import ContactImporter
from .customers import CustomerImporter
from .interactions import InteractionImporter
from .orders import OrderImporter

IMPORTERS = {
    ImportKind.CUSTOMERS: CustomerImporter,
    ImportKind.CONTACTS: ContactImporter,
    ImportKind.ORDERS: OrderImporter,
    ImportKind.INTERACTIONS: InteractionImporter,
}
