"""What runs inside an agent's own hook system: the receipt command (stdlib only, see receipt.py)."""
