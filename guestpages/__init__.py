"""Guest pages: the guest's confirmation page, its publishing and its photo drop."""
