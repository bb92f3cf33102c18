package admin

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/password"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Users: people who sign in to the console with an email and a password,
// each a member of one account as its owner or a member. Who may manage
// them: the admin key (every account), an account's management key and
// its owners (that account's users); members read only.

// UserObject is a user as the API shows it (never the password hash).
type UserObject struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	AccountID string    `json:"account_id"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func userObject(u *store.User) UserObject {
	return UserObject{ID: u.ID, Email: u.Email, AccountID: u.AccountID, Role: string(u.Role), Disabled: u.Disabled,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// Registration is what self-registration (POST /register) allows:
// config console.registration.
type Registration struct {
	Enabled bool
	// Codes, when any, are the invitation codes one of which a registration
	// must give.
	Codes []string
	// Credits are the starting credits of a registered user's new account.
	Credits money.Nanos
}

// SetRegistration sets what POST /register allows (off by default).
func (a *API) SetRegistration(r Registration) { a.registration.Store(&r) }

// RegistrationOpen reports whether self-registration is enabled.
func (a *API) RegistrationOpen() bool {
	r := a.registration.Load()
	return r != nil && r.Enabled
}

// maxEmail bounds an email address (RFC 5321's path limit).
const maxEmail = 254

func newUserID() string { return "user-" + randomID(20) }

// checkEmail returns the normalised email, or a 400.
func checkEmail(s string) (string, error) {
	e := store.NormalEmail(s)
	if e == "" {
		return "", llm.BadRequest("email", "a user needs an 'email'")
	}
	if len(e) > maxEmail {
		return "", llm.BadRequest("email", "'email' must be at most %d characters", maxEmail)
	}
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || addr.Name != "" || !strings.Contains(e[strings.IndexByte(e, '@')+1:], ".") {
		return "", llm.BadRequest("email", "'email' must be an address such as ann@example.com")
	}
	return e, nil
}

func checkRole(s string) (store.UserRole, error) {
	switch store.UserRole(s) {
	case "":
		return store.RoleMember, nil
	case store.RoleOwner, store.RoleMember:
		return store.UserRole(s), nil
	}
	return "", llm.BadRequest("role", "'role' must be \"owner\" or \"member\"")
}

func hashPassword(param, pw string) (string, error) {
	if err := password.Check(pw); err != nil {
		return "", llm.BadRequest(param, "%s", err.Error())
	}
	return password.Hash(pw)
}

// userConflict is the 409 of a taken email.
func userConflict(email string) error {
	return &llm.Error{Kind: llm.KindCaller, Status: http.StatusConflict, Type: "invalid_request_error", Code: "conflict",
		Param: "email", Message: "a user with email " + email + " already exists"}
}

// userCaller resolves a console user principal to the key rights it
// acts with: an owner has those of the account's management key, a member
// those too but only to read (any other method is refused here).
func (a *API) userCaller(r *http.Request, id string) (*store.Key, error) {
	u, err := a.st.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, llm.InvalidAPIKey("this console user no longer exists; sign in again")
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, llm.Forbidden("user_disabled", "user "+u.Email+" is disabled; an owner or the operator can re-enable it")
	}
	if u.Role != store.RoleOwner && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, llm.Forbidden("forbidden", "user "+u.Email+" is a member of account "+u.AccountID+": members can look but not change anything; ask an owner")
	}
	return &store.Key{Kind: store.KindManagement, AccountID: u.AccountID, Label: u.Email, Name: "user " + u.Email}, nil
}

// principalCaller is caller for an in-process call that names its
// principal in the context (the console's).
func (a *API) principalCaller(r *http.Request, p auth.Principal) (*store.Key, error) {
	if p.UserID != "" {
		return a.userCaller(r, p.UserID)
	}
	return a.ManagementKey(p.KeyHash)
}

// ManagementKey returns the admin or management key with this hash if it
// may use the management API now: what a console session signed in with a
// key resolves to at each request.
func (a *API) ManagementKey(hash string) (*store.Key, error) {
	k, ok := a.keys.ByHash(hash)
	if !ok {
		return nil, llm.InvalidAPIKey("the key this console session signed in with no longer exists; sign in again")
	}
	if k.Kind != store.KindAdmin && k.Kind != store.KindManagement {
		return nil, llm.Forbidden("forbidden", "this endpoint needs the admin key or a management key; key "+k.Label+" is an API key")
	}
	if err := auth.Usable(k, a.now()); err != nil {
		return nil, err
	}
	return k, nil
}

// targetUser reads user id and checks caller may act on it; a user of
// another account is a 404, as if absent.
func (a *API) targetUser(r *http.Request, caller *store.Key, id string) (*store.User, error) {
	u, err := a.st.GetUser(r.Context(), id)
	if err != nil {
		return nil, notFoundAs(err, "no user "+id)
	}
	if caller.Kind != store.KindAdmin && u.AccountID != caller.AccountID {
		return nil, llm.NotFound("no user " + id)
	}
	return u, nil
}

// CreateUser serves POST /users {"email", "password", "account_id", "role"}
// → 201 {"data": user, "password": "…"}: the password only when the
// gateway generated it (none sent), shown this once.
func (a *API) CreateUser(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	var req struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		AccountID string `json:"account_id"`
		Role      string `json:"role"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	email, err := checkEmail(req.Email)
	if err != nil {
		return err
	}
	role, err := checkRole(req.Role)
	if err != nil {
		return err
	}
	switch {
	case caller.Kind != store.KindAdmin && req.AccountID != "" && req.AccountID != caller.AccountID:
		return llm.Forbidden("forbidden", "a management key or an owner can only create users of its own account ("+caller.AccountID+")")
	case caller.Kind != store.KindAdmin:
		req.AccountID = caller.AccountID
	case req.AccountID == "":
		return llm.BadRequest("account_id", "a user needs an 'account_id': the account they belong to")
	}
	generated := ""
	if req.Password == "" {
		generated = password.Generate()
		req.Password = generated
	}
	hash, err := hashPassword("password", req.Password)
	if err != nil {
		return err
	}
	now := a.now().UTC()
	u := &store.User{ID: newUserID(), Email: email, AccountID: req.AccountID, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := a.st.CreateUser(r.Context(), u); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return userConflict(email)
		case errors.Is(err, store.ErrNotFound):
			return llm.BadRequest("account_id", "no account %q", req.AccountID)
		}
		return err
	}
	audit.Describe(r.Context(), u.ID, u.AccountID, nil, userObject(u))
	out := struct {
		Data     UserObject `json:"data"`
		Password string     `json:"password,omitempty"`
	}{userObject(u), generated}
	return writeJSON(w, http.StatusCreated, out)
}

// ListUsers serves GET /users[?account_id=]: the admin sees every account's
// users (or one's), anyone else its own account's.
func (a *API) ListUsers(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	acct := r.URL.Query().Get("account_id")
	if caller.Kind != store.KindAdmin {
		if acct != "" && acct != caller.AccountID {
			return llm.Forbidden("forbidden", "a management key or a user can only list its own account's users ("+caller.AccountID+")")
		}
		acct = caller.AccountID
	}
	users, err := a.st.ListUsers(r.Context(), acct)
	if err != nil {
		return err
	}
	out := make([]UserObject, 0, len(users))
	for i := range users {
		out = append(out, userObject(&users[i]))
	}
	return writeJSON(w, http.StatusOK, struct {
		Data []UserObject `json:"data"`
	}{out})
}

// GetUser serves GET /users/{id}.
func (a *API) GetUser(w http.ResponseWriter, r *http.Request, id string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	u, err := a.targetUser(r, caller, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dataOf(userObject(u)))
}

// PatchUser serves PATCH /users/{id} {"email", "role", "password",
// "disabled"}: each field optional. Disabling a user or setting their
// password ends their console sessions.
func (a *API) PatchUser(w http.ResponseWriter, r *http.Request, id string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	var req struct {
		Email    *string `json:"email"`
		Role     *string `json:"role"`
		Password *string `json:"password"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := a.targetUser(r, caller, id)
	if err != nil {
		return err
	}
	before := userObject(u)
	revoke := false
	if req.Email != nil {
		if u.Email, err = checkEmail(*req.Email); err != nil {
			return err
		}
	}
	if req.Role != nil {
		if *req.Role == "" {
			return llm.BadRequest("role", "'role' must be \"owner\" or \"member\"")
		}
		if u.Role, err = checkRole(*req.Role); err != nil {
			return err
		}
	}
	if req.Password != nil {
		if u.PasswordHash, err = hashPassword("password", *req.Password); err != nil {
			return err
		}
		revoke = true
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
		revoke = revoke || u.Disabled
	}
	if err := a.st.UpdateUser(r.Context(), u); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return userConflict(u.Email)
		case errors.Is(err, store.ErrNotFound):
			return llm.NotFound("no user " + id)
		}
		return err
	}
	if revoke {
		if _, err := a.st.DeleteUserSessions(r.Context(), u.ID); err != nil {
			return err
		}
	}
	audit.Describe(r.Context(), u.ID, u.AccountID, before, userObject(u))
	return writeJSON(w, http.StatusOK, dataOf(userObject(u)))
}

// DeleteUser serves DELETE /users/{id}; the user's sessions end with it.
func (a *API) DeleteUser(w http.ResponseWriter, r *http.Request, id string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	gone, err := a.targetUser(r, caller, id)
	if err != nil {
		return err
	}
	audit.Describe(r.Context(), id, gone.AccountID, userObject(gone), nil)
	if err := a.st.DeleteUser(r.Context(), id); err != nil {
		return notFoundAs(err, "no user "+id)
	}
	return writeJSON(w, http.StatusOK, dataOf(map[string]any{"id": id, "deleted": true}))
}

// ChangePassword serves POST /users/{id}/password {"current_password",
// "password"}: a signed-in console user changes their own password,
// proving the current one. Every session of the user ends, the console
// signs the current browser in again. (An owner, a management key or the
// admin sets another user's password with PATCH.)
func (a *API) ChangePassword(w http.ResponseWriter, r *http.Request, id string) error {
	p, ok := auth.PrincipalOf(r.Context())
	if !ok || p.UserID == "" {
		return llm.Forbidden("forbidden", "only a signed-in console user changes their own password here; keys set a user's password with PATCH /api/v1/users/{id}")
	}
	if p.UserID != id {
		return llm.NotFound("no user " + id)
	}
	var req struct {
		Current  string `json:"current_password"`
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := a.st.GetUser(r.Context(), id)
	if err != nil {
		return notFoundAs(err, "no user "+id)
	}
	if u.Disabled {
		return llm.Forbidden("user_disabled", "user "+u.Email+" is disabled")
	}
	if !password.Verify(u.PasswordHash, req.Current) {
		return llm.BadRequest("current_password", "the current password is wrong")
	}
	if u.PasswordHash, err = hashPassword("password", req.Password); err != nil {
		return err
	}
	if err := a.st.UpdateUser(r.Context(), u); err != nil {
		return notFoundAs(err, "no user "+id)
	}
	if _, err := a.st.DeleteUserSessions(r.Context(), u.ID); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, dataOf(userObject(u)))
}

// Register serves POST /register {"email", "password",
// "invitation_code", "account_name"}, without a key, when
// console.registration.enabled: a new account (its starting credits from
// the config) with the new user as its owner. Refusals (a wrong
// invitation code, a taken email, a bad field) count against the
// caller's address as failed sign-ins do: after registerFailures in a
// window, 429 until it ends.
func (a *API) Register(w http.ResponseWriter, r *http.Request) error {
	reg := a.registration.Load()
	if reg == nil || !reg.Enabled {
		return llm.Forbidden("registration_disabled", "self-registration is off on this gateway; ask its operator for an account")
	}
	addr := a.clientAddr(r)
	if wait := a.registerFails.Blocked(addr); wait > 0 {
		secs := strconv.Itoa(int((wait + time.Second - 1) / time.Second))
		return llm.RateLimited("too many refused registrations from your address; try again in "+secs+" seconds", secs)
	}
	err := a.register(w, r, reg)
	if e := llm.AsError(err); e != nil && e.Status >= 400 && e.Status < 500 {
		a.registerFails.Fail(addr)
	}
	return err
}

// Refused registrations allowed per client address per window: the
// console's limit on failed sign-ins.
const (
	registerFailures = 5
	registerWindow   = time.Minute
)

// register is Register once the address may try.
func (a *API) register(w http.ResponseWriter, r *http.Request, reg *Registration) error {
	var req struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		Code        string `json:"invitation_code"`
		AccountName string `json:"account_name"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(reg.Codes) > 0 {
		valid := 0
		for _, c := range reg.Codes {
			valid |= subtle.ConstantTimeCompare([]byte(c), []byte(req.Code))
		}
		if valid != 1 {
			return llm.Forbidden("invalid_invitation", "this gateway registers only with a valid 'invitation_code'")
		}
	}
	email, err := checkEmail(req.Email)
	if err != nil {
		return err
	}
	hash, err := hashPassword("password", req.Password)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(req.AccountName)
	if name == "" {
		name = email
	}
	if len(name) > 200 {
		return llm.BadRequest("account_name", "'account_name' must be at most 200 characters")
	}
	if _, err := a.st.GetUserByEmail(r.Context(), email); err == nil {
		return userConflict(email)
	}
	now := a.now().UTC()
	credits := reg.Credits
	ac := &store.Account{ID: newAccountID(), Name: name, Credits: &credits, CreatedAt: now, UpdatedAt: now}
	if err := a.st.CreateAccount(r.Context(), ac); err != nil {
		return err
	}
	a.acct.SetAccount(ac.ID, ac.Credits)
	a.notify(r.Context(), "accounts")
	u := &store.User{ID: newUserID(), Email: email, AccountID: ac.ID, Role: store.RoleOwner, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := a.st.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return userConflict(email)
		}
		return err
	}
	audit.As(r.Context(), "user", u.ID, u.Email)
	audit.Describe(r.Context(), u.ID, u.AccountID, nil, userObject(u))
	return writeJSON(w, http.StatusCreated, dataOf(userObject(u)))
}

// ErrSignIn is every refused password sign-in: the same answer for an
// unknown email, a wrong password and a disabled user.
var ErrSignIn = errors.New("wrong email or password")

// SignIn checks a console user's email and password and returns the user.
// An unknown email costs the same hashing as a wrong password.
func (a *API) SignIn(ctx context.Context, email, pw string) (*store.User, error) {
	u, err := a.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		password.VerifyNobody(pw)
		return nil, ErrSignIn
	}
	if err != nil {
		return nil, err
	}
	if !password.Verify(u.PasswordHash, pw) || u.Disabled {
		return nil, ErrSignIn
	}
	return u, nil
}

// User returns the user id, for a console session.
func (a *API) User(ctx context.Context, id string) (*store.User, error) {
	return a.st.GetUser(ctx, id)
}

// SessionStore is where console sessions are kept (the gateway's store).
func (a *API) SessionStore() store.Sessions { return a.st }
