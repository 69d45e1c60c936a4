"""One importer per kind of file; the pipeline picks it by the job's kind."""

from ..choices import ImportKind
from .customers import CustomerImporter

IMPORTERS = {
    ImportKind.CUSTOMERS: CustomerImporter,
}
