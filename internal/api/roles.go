package api

import "github.com/gin-gonic/gin"

// mountRoles registers its area's routes (being written).
func (a *API) mountRoles(g *gin.RouterGroup) {}
