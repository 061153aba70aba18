"""Loading one page in one transaction (`page.load_page`), the way its mode asks (`strategies`)."""

from erp_sync.services.load.page import load_page

__all__ = ["load_page"]
