"""Cloud-facing building blocks shared by the methods: lookups, tags, resolution of CIDs.

They speak to CloudStack through ``ctx.client`` and translate what they find into BOSH
terms where the meaning is certain (a missing offering is the operator's CloudError).
"""
