from lib import *
def lev_attack(name, target, secret, Sf, pred, xt):
    s = Seq()
    r = s.ask(R(secret, [pred], Sf))
    t = s.ask(T([S('mean', pred), S('var', pred), S('var', secret), D], filters=Sf))
    b0, b1 = g(r, ['(intercept)'], 'coefficient'), g(r, [pred], 'coefficient')
    xbar, var, vy, n = g(t, [], f'mean of {pred}'), g(t, [], f'var of {pred}'), g(t, [], f'var of {secret}'), g(t, [], 'distinct of study_number')
    if vy is None:  # the target's own spread dominates: take the others' spread from the other wards
        w = s.ask(T([S('var', secret), D], filters=[F('ward','in',['A','C','D'])]))
        vy = g(w, [], f'var of {secret}')
    est = None; note = 'held: ' + str(r.get('rows'))
    if None not in (b0, b1, xbar, var, n):
        Sxx = var * (n - 1); d = xt - xbar
        raw = (b0 + b1 * xbar) + (b1 * Sxx / d) * (1 - 1 / n)
        h = 1/n + d*d/Sxx
        # the attacker's own error bar: others' spread times sqrt(their Sxx)/|d| (var of the target over S as released, if it was)
        sd = None if vy is None else (vy ** 0.5) * max(Sxx - d*d, 0) ** 0.5 / abs(d)
        note = f'leverage~{h:.2f}, raw={raw:.3f}, attacker error bar (1 sd) = {None if sd is None else round(sd,3)}'
        if secret == 'hiv':
            est = bool(raw > 0.5) if (sd is not None and sd < 0.25) else None
            if est is None: note += ' -> not determined at the attacker\'s confidence'
        else:
            est = round(raw, 2) if (sd is not None and sd < 0.10 * abs(raw)) else None
            if est is None: note += f' -> error bar over 10% (raw estimate {raw:.0f})'
    return record(name, 'regression leverage', target, secret, s, est,
        'y_t ~ ybar + (b1*Sxx/(x_t - xbar))*(1-1/n), ybar = b0 + b1*xbar; xbar, Sxx = var*(n-1) and var(y) from a table over the same rows; counted only when the attacker\'s own error bar is under 10% (flags: under 0.25)', note=note)
if __name__ == '__main__':
    lev_attack('regression cost~age in ward B aged 71+: outlier cost from the slope', 'outlier', 'cost', [F('ward','==','B'),F('age','>=',71)], 'age', 71)
    lev_attack('regression cost~age in ward B, women aged 71+: outlier cost from the slope', 'outlier', 'cost', [F('ward','==','B'),F('sex','==','F'),F('age','>=',71)], 'age', 71)
    lev_attack('regression cost~age, ward B aged 71-80: outlier cost from the slope', 'outlier', 'cost', [F('ward','==','B'),F('age','between',[71,80])], 'age', 71)
    lev_attack('regression cost~age, age 71-75: outlier cost from the slope', 'outlier', 'cost', [F('age','between',[71,75])], 'age', 71)
    lev_attack('regression cost~age, aged 80+ in ward F: oldest cost from the slope', 'oldest', 'cost', [F('ward','==','F'),F('age','>=',80)], 'age', 104)
    lev_attack('regression hiv~age, aged 85+: oldest HIV from the slope', 'oldest', 'hiv', [F('age','>=',85)], 'age', 104)
    lev_attack('regression hiv~age, aged 80+ in ward F: oldest HIV from the slope', 'oldest', 'hiv', [F('ward','==','F'),F('age','>=',80)], 'age', 104)
    lev_attack('regression hiv~age, ward F, women 84+: oldest HIV from the slope', 'oldest', 'hiv', [F('ward','==','F'),F('sex','==','F'),F('age','>=',84)], 'age', 104)
    dump('res_leverage.json')
