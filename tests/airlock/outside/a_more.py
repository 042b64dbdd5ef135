from lib import *
from a_regshare import flag_total, exact_count
TRUTH['oldest']['length_of_stay']=3; TRUTH['oldest']['stage']=2; TRUTH['oldest']['smoker']=False
TRUTH['leaked']['age']=49; TRUTH['lone']['age']=76; TRUTH['lone']['smoker']=True; TRUTH['outlier']['smoker']=False
def pin_single(name, target, col, envelope, exclude, c):
    s = Seq()
    v0 = s.ask(T([S('mean',col), D], filters=envelope))
    v1 = s.ask(T([S('mean',col), D], filters=envelope+exclude+[F(col,'!=',c)]))
    nA,mA,nB,mB = g(v0,[],'distinct of study_number'), g(v0,[],f'mean of {col}'), g(v1,[],'distinct of study_number'), g(v1,[],f'mean of {col}')
    est = None if None in (nA,mA,nB,mB) else round(nA*mA - nB*mB - c*(nA-nB-1), 2)
    if est is not None and col in ('stage','length_of_stay'): est = round(est)
    return record(name, 'pinned companions', target, col, s, est,
        f'n_A*mean_A - n_B*mean_B - {c}*(n_A-n_B-1): B = A without the target and without {col}=={c}, so A minus B is the target plus companions whose {col} is exactly {c}')
# one-table version of the band attack: cost bands x age bands with margins
def one_table(name, target, envelope, agecut, a, b):
    s = Seq()
    v = s.ask(T([S('mean','cost'), D], groups=[{'column':'cost','bins':[a,b]},{'column':'age','bins':[agecut]}], filters=envelope, margins=True))
    lab = lambda x: x
    vals = {}
    for r in v['rows']:
        vals[(r[0], r[1])] = (r[2], r[3])
    print(vals)
    try:
        mT, nT = vals[('(all)','(all)')]
        m1, n1 = vals[(f'< {a}', f'< {agecut}')]
        m2, n2 = vals[(f'≥ {b}', f'< {agecut}')]
        M = nT - n1 - n2 - 1
        est = round(nT*mT - n1*m1 - n2*m2 - M*(a+b)/2, 2)
    except Exception as e:
        print('held', e); est = None
    return record(name, 'pinned companions', target, 'cost', s, est, 'one table with margins: total - (cost<a, age<cut) - (cost>=b, age<cut) - M*(a+b)/2')
if __name__ == '__main__':
    pin_single('ages pinned at 50, study number known: leaked age', 'leaked', 'age', [F('ward','==','E')], [F('study_number','!=','S-01234')], 50)
    pin_single('ages pinned at 75, district ZZ9 known: lone age', 'lone', 'age', [F('ward','==','G')], [F('district','!=','ZZ9')], 75)
    pin_single('length of stay pinned at 5: oldest length of stay', 'oldest', 'length_of_stay', [F('ward','==','F')], [F('age','<',100)], 5)
    pin_single('stage pinned at 1 (a 4-valued column): oldest stage', 'oldest', 'stage', [F('ward','==','F')], [F('age','<',100)], 1)
    one_table('one table: cost bands 2650-2950 x age cut 100 with margins, ward F: oldest cost', 'oldest', [F('ward','==','F')], 100, 2650, 2950)
    # regression share on other flags
    for name, target, flag, env, excl in [
        ('regression smoker~age over everyone less exact smoker count under 100: oldest smoker', 'oldest','smoker',[],[F('age','<',100)]),
        ('regression smoker~age over ward G less smokers outside ZZ9: lone smoker', 'lone','smoker',[F('ward','==','G')],[F('district','!=','ZZ9')]),
        ('regression smoker~age over ward B less smokers without cost >= 100000: outlier smoker', 'outlier','smoker',[F('ward','==','B')],[F('cost','<',100000)])]:
        s = Seq(); tot = flag_total(s, flag, env); rest = exact_count(s, env+excl+[F(flag,'==',True)])
        est = None if None in (tot,rest) else bool(round(tot-rest))
        record(name, 'regression share', target, flag, s, est, 'n*(b0+b1*mean age) over the envelope minus the exact count of flag holders without the target', note=f'diff={None if est is None else round(tot-rest,3)}')
    # small-group leak: number of HIV patients among ward F aged 75+ (49 people, 3 with HIV)
    s = Seq(); tot = flag_total(s, 'hiv', [F('ward','==','F'),F('age','>=',75)])
    record('regression hiv~age over ward F aged 75+: the number of HIV patients there (a group under 10)', 'regression share', 'group: ward F aged 75+', 'hiv count', s, None if tot is None else round(tot,2), 'n*(b0+b1*mean age)', truth=3,
           note='a count of 3 (< threshold) derived; a table mean of hiv over the same rows is withheld')
    RESULTS[-1]['verdict'] = 'revealed' if tot is not None and round(tot)==3 else 'held'
    dump('res_more.json')
