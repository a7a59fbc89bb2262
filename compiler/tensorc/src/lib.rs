//! tensorc embedding API.
