"""The grid's domain in Python: enums, units and the reference rules the contracts must agree with."""
