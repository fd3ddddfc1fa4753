"""Loss functions of the example project."""
