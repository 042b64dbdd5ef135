from lib import *
from a_pinned_lib import band_attack
RESULTS.clear()
TRUTH['S-10500'] = {'cost':4502.98,'age':70,'hiv':False,'died':False,'diagnosis':'Stroke','bmi':27.6,'smoker':False}
ex = [F('study_number','!=','S-10500')]
for a,b in ((2650,2950),(2600,3000)):
    band_attack(f'ward A, cost band {a}-{b}, without S-10500: its cost', 'S-10500','cost',[F('ward','==','A')],ex,a,b)
for a,b in ((24.5,25.5),(25.0,26.0)):
    band_attack(f'ward A, bmi band {a}-{b}, without S-10500: its bmi', 'S-10500','bmi',[F('ward','==','A'),F('bmi','present')],ex,a,b)
dump('res_other2.json')
