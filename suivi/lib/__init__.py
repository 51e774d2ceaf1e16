"""Pure helpers with no Django models: text folding, identifiers."""
