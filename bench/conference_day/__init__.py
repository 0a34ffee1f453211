"""Conference day, rehearsed: a hall of simulated attendees against the local stack (`make conference-day`).

`scenario` holds the run's parameters, `locustfile` the attendees, `stack` starts Azurite, the
GitHub stand-in and the API on 127.0.0.1, `checks` judges the run, `report` draws it. Nothing here
imports Locust except the locustfile, which Locust runs in its own process (gevent patches it).
"""
