package api

import "github.com/gin-gonic/gin"

// mountGroups registers its area's routes (being written).
func (a *API) mountGroups(g *gin.RouterGroup) {}
