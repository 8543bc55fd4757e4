"""The command lines.

`earlyexit-tutorial` (the guide's example) and `earlyexit-tutorial-notebooks` (copy the notebooks).
"""
