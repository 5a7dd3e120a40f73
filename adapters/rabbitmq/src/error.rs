//! The transport's failure kinds. Nearly everything the broker or the databases do wrong is
//! transient for a long-running relay or consumer: they back off and try again. What is not
//! (a bad URL, a runtime shutting down) is told apart by [`BrokerError::is_permanent`].

use std::time::Duration;

use roster_domain::store::StoreError;
use roster_projections::RunError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("RabbitMQ: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("RabbitMQ did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the broker did not confirm message {message_id} within {timeout:?}")]
    ConfirmTimeout {
        message_id: String,
        timeout: Duration,
    },
    /// Nacked, or returned as unroutable (a missing queue or binding): never counted as sent.
    #[error("the broker refused message {message_id}: {reason}")]
    Refused { message_id: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("PostgreSQL (relay lock): {0}")]
    Lock(#[from] tokio_postgres::Error),
    #[error("{0}")]
    Cancelled(String),
    #[error("the relay lost its leader lock")]
    LockLost,
    #[error("{0}")]
    Config(String),
}

impl BrokerError {
    /// Errors no retry will fix: the caller should stop and report them.
    pub fn is_permanent(&self) -> bool {
        match self {
            BrokerError::Config(_) => true,
            BrokerError::Amqp(e) => matches!(
                e.kind(),
                lapin::ErrorKind::InvalidProtocolVersion(_)
                    | lapin::ErrorKind::RuntimeShutdownError(_)
                    | lapin::ErrorKind::NoDefaultRuntime
            ),
            _ => false,
        }
    }
}
