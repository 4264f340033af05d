#!/usr/bin/python3
"""Creates Neutron's tables from its models: `neutron-db-manage upgrade` fails on sqlite
(ALTER TABLE), so the testbed builds the head schema directly and then stamps it."""
import sys

import sqlalchemy
from neutron.db.migration.models import head

engine = sqlalchemy.create_engine('sqlite:///' + sys.argv[1])
with engine.connect() as connection:
    connection.exec_driver_sql('PRAGMA journal_mode=WAL')
head.get_metadata().create_all(engine)
