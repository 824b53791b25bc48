//! The log consumer: route server peer log records applied to the store.
