"""The notebooks' aids: the call diagram, the widget panels, the exercise's checker, the live cost table, the self-check and demo guests."""
