"""moto_server as tests/moto.rs runs it (a test tool, never the product): moto
5.2.5 with two corrections, where it departs from AWS in a way only several
environments in one account meet (docs/testing.md), and its request recorder
made safe for concurrent requests. Arguments as moto_server's.

- moto draws ONE OIDC issuer per process and gives it to every EKS cluster,
  so a second cluster cannot create its IRSA provider (EntityAlreadyExists);
  AWS gives each cluster its own (https://oidc.eks.<region>.amazonaws.com/id/<32 hex>).
- moto gives every RDS instance the same DbiResourceId, so the provider,
  which reads an instance back by it, finds several; AWS's are unique
  (`db-` and 26 characters).
"""

import sys
import threading
import uuid

import moto.eks.models as eks
import moto.rds.models as rds
from moto.moto_api._internal.recorder.models import Recorder
from moto.server import main

_init = eks.Cluster.__init__


def _cluster_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    region = self.arn.split(":")[3]
    self.identity = {"oidc": {"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"}}


eks.Cluster.__init__ = _cluster_init

_db_init = rds.DBInstance.__init__


def _db_instance_init(self, *args, **kwargs):
    _db_init(self, *args, **kwargs)
    self.dbi_resource_id = "db-" + uuid.uuid4().hex[:26].upper()


rds.DBInstance.__init__ = _db_instance_init

# The recorder appends each request with two writes to a file it opens per
# request: requests served at once (several applies) interleave their lines.
_record = Recorder._record_request
_recording = threading.Lock()


def _record_request(self, *args, **kwargs):
    with _recording:
        _record(self, *args, **kwargs)


Recorder._record_request = _record_request

if __name__ == "__main__":
    main(sys.argv[1:])
