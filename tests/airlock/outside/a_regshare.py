from lib import *
DIAG = ["Pneumonia", "Heart failure", "Hip fracture", "COPD", "Stroke", "Sepsis", "Diabetes", "Asthma", "Appendicitis",
    "Cellulitis", "Kidney stones", "Angina", "Atrial fibrillation", "Gastroenteritis", "Migraine"]
def flag_total(s, flag, S, pred='age'):
    """exact number of `flag` holders in S from a regression's fitted mean (through the means) and the exact n"""
    r = s.ask(R(flag, [pred], S))
    t = s.ask(T([S_('mean', pred), D], filters=S))
    b0, b1 = g(r, ['(intercept)'], 'coefficient'), g(r, [pred], 'coefficient')
    xbar, n = g(t, [], f'mean of {pred}'), g(t, [], 'distinct of study_number')
    if None in (b0, b1, xbar, n): return None
    return (b0 + b1 * xbar) * n
S_ = S
def exact_count(s, filters):
    v = s.ask(T([D], filters=filters)); return g(v, [], 'distinct of study_number')

def flag_attack(name, target, flag, envelope, exclude):
    s = Seq()
    tot = flag_total(s, flag, envelope)
    rest = exact_count(s, envelope + exclude + [F(flag, '==', True)])
    est = None if None in (tot, rest) else bool(round(tot - rest))
    raw = None if None in (tot, rest) else round(tot - rest, 3)
    return record(name, 'regression share', target, flag, s, est,
        f"n*(b0 + b1*mean_age) over the envelope = number of {flag} holders there (OLS passes through the means; n from distinct study_number); minus the exact count of {flag} holders in the envelope without the target", note=f'difference={raw}')

# diagnosis: with the flag known to be 1, the flag total over {diagnosis != X} less the count without the target = [target not X]
def diag_attack(name, target, flag, exclude):
    s = Seq(); hits = []
    for X in DIAG + [RARE]:
        tot = flag_total(s, flag, [F('diagnosis','!=',X)])
        rest = exact_count(s, [F('diagnosis','!=',X)] + exclude + [F(flag,'==',True)])
        if None in (tot, rest): print(X, 'held'); continue
        d = round(tot - rest)
        if d == 0: hits.append(X)
    est = hits[0] if len(hits) == 1 else None
    return record(name, 'regression share', target, 'diagnosis', s, est,
        f"for each diagnosis X: (regression {flag}~age over diagnosis != X: n*(b0+b1*mean age)) minus exact count of {flag} holders with diagnosis != X without the target; 0 exactly when the target (known {flag}=1) has diagnosis X", note=f'hits={hits}')

if __name__ == '__main__':
    flag_attack('regression hiv~age over everyone, minus exact HIV count of the under-100s: oldest HIV', 'oldest', 'hiv', [], [F('age','<',100)])
    flag_attack('regression hiv~age in ward F, minus exact HIV count of ward F under 100: oldest HIV', 'oldest', 'hiv', [F('ward','==','F')], [F('age','<',100)])
    flag_attack('regression hiv~age over everyone, minus HIV count without S-01234: leaked HIV', 'leaked', 'hiv', [], [F('study_number','!=','S-01234')])
    flag_attack('regression hiv~age over everyone, minus HIV count without the rare diagnosis: rare HIV', 'rare', 'hiv', [], [F('diagnosis','!=',RARE)])
    flag_attack('regression died~age over everyone, minus deaths outside ZZ9: lone died', 'lone', 'died', [], [F('district','!=','ZZ9')])
    flag_attack('regression died~age in ward G, minus deaths in ward G outside ZZ9: lone died', 'lone', 'died', [F('ward','==','G')], [F('district','!=','ZZ9')])

    diag_attack('16 regressions of HIV over "diagnosis != X" less HIV counts without the oldest: oldest diagnosis', 'oldest', 'hiv', [F('age','<',100)])
    diag_attack('16 regressions of died over "diagnosis != X" less death counts outside ZZ9: lone diagnosis', 'lone', 'died', [F('district','!=','ZZ9')])
    dump('res_regshare.json')
