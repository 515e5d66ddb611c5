"""XenServer hypervisor plugin for the CloudStack BOSH CPI."""
