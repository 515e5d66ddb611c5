"""My CloudStack flavour (generated from the cpi-framework plugin template)."""
