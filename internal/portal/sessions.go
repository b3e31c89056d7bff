package portal

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
)

// confirmEndSessions, as ?confirm= on a user's page, asks whether to end
// the user's sessions.
const confirmEndSessions = "end-sessions"

// mountEndSessions adds the button that signs a user out everywhere: a
// lost phone, a shared computer, a person who has left.
func (p *Portal) mountEndSessions(g *gin.RouterGroup) {
	g.POST(UsersPath+"/:id/end-sessions", p.userEndSessions)
}

// userEndSessions ends every session of one of the organisation's users,
// after a second yes: the first POST shows the question on the user's page.
// It is for those who may deactivate the user, since it has the same effect
// for now (the user logs in with MitID again). Another organisation's user
// is a 404.
func (p *Portal) userEndSessions(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok || !p.authorize(c, act, authz.ActionUserDeactivate, userResource(u), authz.Context{}) {
		return
	}
	page := UsersPath + "/" + u.ID.String()
	if c.PostForm("confirm") != "yes" {
		c.Redirect(http.StatusSeeOther, page+"?confirm="+confirmEndSessions)
		return
	}
	if err := p.Administration.EndSessions(c.Request.Context(), p.actorOf(c, act), act.Org.ID, u.ID); err != nil {
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(page, "users.done.sessions_ended"))
}
