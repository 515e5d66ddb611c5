"""Ikoula flavour of the xen plugin (an example of customising a flavour without forking)."""
