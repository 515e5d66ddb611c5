"""An independent model of the Apache CloudStack management server API, for tests and demos."""
