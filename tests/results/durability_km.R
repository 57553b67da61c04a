# Kaplan-Meier median days to loss of response with R's survival package, for tests/test_durability_km.py.
# Run from the repository root: Rscript tests/results/durability_km.R (writes the CSV beside this script).
# The curve never sits exactly at 0.5 here, where R (smallest t with S(t) <= 0.5) and statsmodels (first t with
# S(t) < 0.5) would differ by convention.
library(survival)
days <- c(30, 45, 45, 60, 90, 120, 150, 200, 240)
lost <- c(1, 1, 0, 1, 1, 0, 1, 0, 1)
fit <- survfit(Surv(days, lost) ~ 1)
s <- summary(fit)
write.csv(data.frame(time = s$time, survival = s$surv, median = unname(summary(fit)$table["median"])),
          "tests/results/durability_km.csv", row.names = FALSE)
