"""Value: the points ledger, gig-worker points, 七位一体 rewards and star levels (later issues)."""
