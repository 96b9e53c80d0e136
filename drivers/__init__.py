"""Chip drivers. Drivers talk to their bus only through the interfaces in `drivers.hal`."""
