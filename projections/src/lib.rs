//! Read models as pure folds over the event log.
