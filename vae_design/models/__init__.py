"""The model: the Pyro model and guide, the head and its expert prior, the target and nuisance factors, semi-supervision
routes, the independence term, measured neighbours, settings and the saved bundle."""
