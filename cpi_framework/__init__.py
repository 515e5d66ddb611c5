"""BOSH CPI for Apache CloudStack."""
