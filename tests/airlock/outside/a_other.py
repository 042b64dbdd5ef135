from lib import *
from a_pinned_lib import band_attack
from a_regshare2 import reg_total, cnt, DIAG
RESULTS.clear()
TRUTH['S-10500'] = {'cost':4502.98,'age':70,'hiv':False,'died':False,'diagnosis':'Stroke','bmi':27.6,'smoker':False}
ex = [F('study_number','!=','S-10500')]
band_attack('ward A, cost band 2700-2900, without S-10500: its cost', 'S-10500','cost',[F('ward','==','A')],ex,2700,2900)
band_attack('ward A, bmi band 25-25.5, without S-10500: its bmi', 'S-10500','bmi',[F('ward','==','A'),F('bmi','present')],ex,25.0,25.5)
# flags via regression share
for flag in ('hiv','died'):
    s = Seq(); tot, n = reg_total(s, flag, [F('ward','==','A')]); rest = cnt(s, [F('ward','==','A'), F(flag,'==',False)] + ex)
    est = None if None in (tot, n, rest) else bool(round(n - tot - rest) == 0)
    record(f'regression {flag}~age over ward A with the exact count of {flag}-negatives without S-10500', 'regression share', 'S-10500', flag, s, est,
           f'n - n*(b0+b1*mean age) - count({flag} False, without the target) = 1 - {flag} of the target')
dump('res_other.json')
