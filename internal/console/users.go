package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// usersPage is the Users page's data.
type usersPage struct {
	Users []admin.UserObject
	// Admin: the list spans accounts, and the create form names one.
	Admin bool
	// Form is the create form as typed, to show again after an error.
	Form userForm
	// Created is the user just created, and Password the one-time
	// password the gateway generated for them (shown this once).
	Created  string
	Password string
}

type userForm struct{ Email, Role, Account string }

// users serves GET /console/users[?account=]: the admin sees every
// account's users (or one account's), anyone else their own account's.
func (c *Console) users(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderUsers(w, r, s, http.StatusOK, &page{}, &usersPage{})
}

func (c *Console) renderUsers(w http.ResponseWriter, r *http.Request, s *session, status int, p *page, up *usersPage) {
	p.Title, p.Nav, p.Who, p.CSRF = "Users", "users", &s.who, s.csrf
	p.Filter = c.filterOf(r, s, p)
	up.Admin = p.Filter != nil
	path := "/users"
	if up.Admin && p.Filter.Selected != "" {
		path += "?account_id=" + url.QueryEscape(p.Filter.Selected)
		if up.Form.Account == "" {
			up.Form.Account = p.Filter.Selected
		}
	}
	var list struct {
		Data []admin.UserObject `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, path, nil, &list); err != nil {
		p.Error = joinErr(p.Error, "Listing users failed: "+err.Error())
		if status < 400 {
			status = statusOf(err)
		}
	}
	up.Users = list.Data
	p.View = up
	c.render(w, r, status, "users", p)
}

// createUser serves POST /console/users: POST /api/v1/users. Without a
// password the gateway generates one, shown on the page this once.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	f := userForm{Email: strings.TrimSpace(r.PostFormValue("email")), Role: r.PostFormValue("role"), Account: r.PostFormValue("account_id")}
	req := map[string]string{"email": f.Email, "role": f.Role, "password": r.PostFormValue("password")}
	if s.who.Kind == "admin" {
		req["account_id"] = f.Account
	}
	var created struct {
		Data     admin.UserObject `json:"data"`
		Password string           `json:"password"`
	}
	if err := c.call(r, s, http.MethodPost, "/users", req, &created); err != nil {
		c.renderUsers(w, r, s, statusOf(err), &page{Error: "Creating the user failed: " + err.Error()}, &usersPage{Form: f})
		return
	}
	c.renderUsers(w, r, s, http.StatusCreated, &page{}, &usersPage{Created: created.Data.Email, Password: created.Password})
}

// userAction serves POST /console/users/{id}/{role,disable,enable,delete}.
func (c *Console) userAction(w http.ResponseWriter, r *http.Request, s *session) {
	path := "/users/" + url.PathEscape(r.PathValue("id"))
	var err error
	switch r.PathValue("action") {
	case "role":
		err = c.call(r, s, http.MethodPatch, path, map[string]string{"role": r.PostFormValue("role")}, nil)
	case "disable":
		err = c.call(r, s, http.MethodPatch, path, map[string]bool{"disabled": true}, nil)
	case "enable":
		err = c.call(r, s, http.MethodPatch, path, map[string]bool{"disabled": false}, nil)
	case "delete":
		err = c.call(r, s, http.MethodDelete, path, nil, nil)
	default:
		c.notFound(w, r)
		return
	}
	if err != nil {
		c.renderUsers(w, r, s, statusOf(err), &page{Error: err.Error()}, &usersPage{})
		return
	}
	http.Redirect(w, r, withAccount("/console/users", r.PostFormValue("account")), http.StatusSeeOther)
}
