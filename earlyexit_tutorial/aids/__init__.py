"""The notebooks' aids.

The call diagram, the widget panels, the exercise's checker, the live cost table, the self-check and demo guests.
"""
