package api

import "github.com/gin-gonic/gin"

// mountAudit registers its area's routes (being written).
func (a *API) mountAudit(g *gin.RouterGroup) {}
