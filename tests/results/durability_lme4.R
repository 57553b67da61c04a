# Reference fits of the durability mixed model (data contract: completers' post, month 0, and followup
# totals; months = days / 30.4375; pcl5 ~ months, REML) by lme4, for tests/test_durability.py.
# Run from this folder: Rscript durability_lme4.R > durability_lme4.csv
# (R 4.2.2, lme4 1.1-31 from Debian's r-base-core and r-cran-lme4.)
suppressMessages(library(lme4))
fit <- function(file, formula) {
  d <- read.csv(file)
  d <- d[!is.na(d$days_after_post), ]
  d$months <- d$days_after_post / 30.4375
  m <- lmer(formula, data = d, REML = TRUE)
  ci <- confint(m, parm = "months", method = "Wald", level = 0.95)
  data.frame(
    fixture = file, model = deparse(formula),
    slope = fixef(m)[["months"]], se = sqrt(diag(vcov(m)))[2],
    ci_low = ci[1, 1], ci_high = ci[1, 2], reml_criterion = REMLcrit(m),
    n_patients = length(unique(d$patient_id)), n_observations = nrow(d)
  )
}
out <- rbind(
  fit("durability_lbfgs_early.csv", pcl5 ~ months + (months | patient_id)),
  fit("durability_few_repeated.csv", pcl5 ~ months + (1 | patient_id)),
  fit("durability_clinic_export.csv", pcl5 ~ months + (months | patient_id))
)
write.csv(out, stdout(), row.names = FALSE, quote = TRUE)
