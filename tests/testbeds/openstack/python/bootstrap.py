#!/usr/bin/python3
"""Fills the testbed's Keystone after `keystone-manage bootstrap`: the service project and
users the other services authenticate with, the catalog (public endpoints on 127.0.0.1,
internal ones on localhost, so a client's interface choice is visible in the URL it uses),
and the identities the forklift tests log in with, written to fixtures.json."""
import json
import sys

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

STATE = sys.argv[1]
KEYSTONE = 'http://127.0.0.1:5000/v3'
SERVICES = [
    ('glance', 'image', 'http://{host}:9292'),
    ('placement', 'placement', 'http://{host}:8778'),
    ('nova', 'compute', 'http://{host}:8774/v2.1'),
    ('cinderv3', 'volumev3', 'http://{host}:8776/v3/%(project_id)s'),
    ('neutron', 'network', 'http://{host}:9696'),
]

auth = v3.Password(auth_url=KEYSTONE, username='admin', password='secretpw',
                   project_name='admin', user_domain_id='default', project_domain_id='default')
ks = client.Client(session=session.Session(auth=auth))
roles = {r.name: r for r in ks.roles.list()}
service_project = ks.projects.create('service', 'default')
service_role = roles.get('service') or ks.roles.create('service')
for name, _, _ in SERVICES:
    user = ks.users.create(name.replace('v3', ''), domain='default', password='svcpw')
    ks.roles.grant(roles['admin'], user=user, project=service_project)
    ks.roles.grant(service_role, user=user, project=service_project)
for name, kind, url in SERVICES:
    service = ks.services.create(name, type=kind)
    for interface, host in (('public', '127.0.0.1'), ('internal', 'localhost'),
                            ('admin', '127.0.0.1')):
        ks.endpoints.create(service, url.format(host=host), interface=interface,
                            region='RegionOne')

# The tests' own domain, project and user: admin on their project (they create servers,
# volumes and images there and list them back).
domain = ks.domains.create('forklift')
project = ks.projects.create('forklift-tests', domain)
user = ks.users.create('forklift-user', domain=domain, password='forklift-pw',
                       default_project=project)
ks.roles.grant(roles['admin'], user=user, project=project)
ks.roles.grant(roles['member'], user=user, project=project)

user_auth = v3.Password(auth_url=KEYSTONE, username='forklift-user', password='forklift-pw',
                        user_domain_name='forklift', project_name='forklift-tests',
                        project_domain_name='forklift')
user_ks = client.Client(session=session.Session(auth=user_auth))
credential = user_ks.application_credentials.create('forklift-appcred', user=user.id,
                                                    secret='appcred-secret')
admin_user = ks.users.find(name='admin')
admin_project = ks.projects.find(name='admin')
fixtures = {
    'auth_url': KEYSTONE,
    'region': 'RegionOne',
    'admin': {'user_id': admin_user.id, 'project_id': admin_project.id,
              'username': 'admin', 'password': 'secretpw', 'domain': 'Default',
              'project': 'admin'},
    'user': {'user_id': user.id, 'project_id': project.id, 'username': 'forklift-user',
             'password': 'forklift-pw', 'domain': 'forklift', 'project': 'forklift-tests'},
    'application_credential': {'id': credential.id, 'name': 'forklift-appcred',
                               'secret': 'appcred-secret'},
}
with open(STATE + '/fixtures.json', 'w') as out:
    json.dump(fixtures, out, indent=2)
