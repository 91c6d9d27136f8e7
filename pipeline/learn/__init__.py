"""Feature tables -> models: estimators, the nested speaker-grouped search, metrics, late fusion."""
