from lib import *
def std_oracle(name, target, env, lo, hi, steps=18, stat='std'):
    s = Seq()
    log = []
    for i in range(steps):
        c = round((lo + hi) / 2, 2)
        v = s.ask(T([S(stat,'cost'), C], filters=env + [F('cost','<',c)]))
        m = g(v, [], f'{stat} of cost')
        log.append((c, m))
        if m is None: hi = c
        else: lo = c
    est = round((lo+hi)/2, 2)
    return record(name, 'oracle', target, 'cost', s, est,
        f'binary search: the {stat} of cost below c is held back exactly when the target is inside (its squared deviation dominates)', note=f'interval [{lo},{hi}] steps={log[:6]}...')
std_oracle('std of cost in ward F aged 85+, cost < c, binary search: oldest cost', 'oldest', [F('ward','==','F'),F('age','>=',85)], 9000, 60000)
std_oracle('std of cost, ward B women of district EF5, cost < c: rare cost', 'rare', [F('ward','==','B'),F('sex','==','F'),F('district','==','EF5')], 10000, 60000)
std_oracle('std of cost, ward G men aged 70+, cost < c: lone cost', 'lone', [F('ward','==','G'),F('sex','==','M'),F('age','>=',70)], 19000, 80000)
std_oracle('std of cost, ward E men aged 45-52, cost < c: leaked cost', 'leaked', [F('ward','==','E'),F('sex','==','M'),F('age','between',[45,52])], 8000, 40000)
std_oracle('var of cost in ward F aged 85+, cost < c: oldest cost', 'oldest', [F('ward','==','F'),F('age','>=',85)], 9000, 60000, stat='var')
dump('res_oracle2.json')
