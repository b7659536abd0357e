from sarhad.federation.sync import sync_partner
from sarhad.federation.service import local_node
from .helpers import PROFILE, record
from sqlalchemy import select, func
from sarhad.incidents.models import Incident
import time

def test_split(pair):
    t = time.perf_counter()
    for i in range(10):
        record(pair.pk)
    print("record 10:", time.perf_counter() - t)
    with pair.ir.db.session() as s:
        node = local_node(s, pair.ir.settings)
    rep = sync_partner(pair.ir.db, partner_name="pk-node", node=node, profile=PROFILE, page_size=5)
    print(rep.error, len(rep.pulled.accepted), rep.pulled.rejected, rep.pages)
    with pair.ir.db.session() as s:
        print("incidents on ir:", s.scalar(select(func.count()).select_from(Incident)))
