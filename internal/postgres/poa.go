package postgres

// SKELETON: the powers-of-attorney helper replaces this file.

// PoAService runs the lifecycle of powers of attorney between organisations.
type PoAService struct {
	db       *DB
	notifier Notifier
}

// NewPoAService returns the service; notifier may be nil (no mail).
func NewPoAService(db *DB, notifier Notifier) *PoAService {
	return &PoAService{db: db, notifier: notifier}
}
