"""The owner's back office (issue #20): vouchers and delivery inserts, plan limits, pages."""
