mod call;
mod deadline;
mod guard;
mod lock;
mod mailbox;
mod resizable;
