"""Bundle composition: the composer, its edits, budget selection, substitutes, profiles."""
